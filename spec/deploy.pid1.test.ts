/**
 * The container's PID 1, reproduced with a PID namespace (spec/support/pid-namespace.ts): the
 * image's init (the ENTRYPOINT's `tini --`, read from deploy/Dockerfile) starts `troupe serve`
 * with deploy/troupe.config.ts, and TERM goes to the namespace's PID 1 as `docker stop` and
 * the kubelet send it. Also troupe as PID 1 itself (an image started with another entrypoint):
 * it handles TERM the same, but leaves orphans as zombies, which is why the image runs tini.
 *
 * Needs root (unshare) and tini (Debian package `tini`; .ci/run installs it); skipped, saying
 * why, where either is missing.
 */
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { asInContainer } from './support/deploy-check.ts'
import { imageStage, lastOf, readDockerfile } from './support/dockerfile.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { PidNamespace, pidNamespaceUnavailable, processState } from './support/pid-namespace.ts'
import { repoRoot } from './support/readme.ts'
import { addressTarget, cleanEnv, cliPath, get, parseServing, tempDir } from './support/troupe-cli.ts'

const deployConfig = path.join(repoRoot, 'deploy', 'troupe.config.ts')
const workerApp = fileURLToPath(new URL('./fixtures/cli/worker-app.ts', import.meta.url))
const orphaningApp = fileURLToPath(new URL('./fixtures/cli/orphaning-app.ts', import.meta.url))

/** The image's init: what its ENTRYPOINT runs before `node` (`/usr/bin/tini --`). */
const imageInit = (() => {
  const entrypoint = lastOf(imageStage(readDockerfile()), 'ENTRYPOINT')?.exec ?? []
  return entrypoint.slice(0, Math.max(0, entrypoint.indexOf('node')))
})()

const unavailable =
  pidNamespaceUnavailable() ??
  (imageInit[0] && !existsSync(imageInit[0])
    ? `${imageInit[0]} (the image's init) is not installed: apt-get install tini`
    : undefined)
if (unavailable) console.warn(`spec/deploy.pid1.test.ts skipped: ${unavailable}`)

/** The pod's environment, as the Deployment sets it (one worker, here). */
const podEnv = { WEB_CONCURRENCY: '1', MEMORY_LIMIT_MB: '1024' }

/** gracefulTimeout of deploy/troupe.config.ts, which these servers run with. */
const GRACEFUL_TIMEOUT_S = await asInContainer(podEnv, async () => {
  const config = (await import(deployConfig)) as { default: { gracefulTimeout: number } }
  return config.default.gracefulTimeout
})

/** How PID 1 is started, and what becomes of an orphan under it. */
const inits = [
  ['under the image’s init', imageInit, 'reaped'],
  ['as PID 1 itself', [], 'zombie'],
] as const

/** troupe serve with the image's config, in a namespace of its own behind `init`; one worker. */
const serveInNamespace = async (init: readonly string[], app: string) => {
  const namespace = new PidNamespace(
    [...init, process.execPath, cliPath, 'serve', app, '--config', deployConfig, '--bind', '127.0.0.1:0'],
    // No control socket: these tests do not need one.
    { cwd: tempDir(), env: cleanEnv({ ...podEnv, TROUPE_CONTROL: 'none' }) },
  )
  // Generous: a loaded machine starts a process worker slowly.
  await namespace.waitForStderr(/ serving .* \(pid \d+/, 30_000)
  const serving = parseServing(namespace.stderr)!
  const target = addressTarget(serving.addresses[0]!) as { host: string; port: number }
  return { namespace, serving, target, initPid: await namespace.init() }
}

describe.skipIf(unavailable !== undefined)('troupe serve as a container’s process tree', () => {
  it('the image’s init is tini', () => {
    expect(imageInit.map((arg) => path.basename(arg))).toEqual(['tini', '--'])
  })

  it.each(inits)(
    '%s: TERM drains the request in flight (200), troupe exits 0 within gracefulTimeout, nothing of the namespace is left',
    async (_how, init) => {
      const { namespace, serving, target, initPid } = await serveInNamespace(init, workerApp)
      // tini is PID 1 and troupe its child; bare, troupe is PID 1.
      expect(serving.pid).toBe(init.length > 0 ? 2 : 1)
      const signals = handlerSignals()
      const held = get(target, `/?${signals.held}`, 60_000)
      await signals.waitStarted()

      const stopAt = performance.now()
      process.kill(initPid, 'SIGTERM')
      await namespace.waitForStderr(/: graceful stop: draining$/m)
      // The drain waits for the request: the namespace lives on.
      expect(processState(initPid)).toBeDefined()
      signals.open()
      const answer = await held
      expect(answer.status).toBe(200)

      const exit = await Promise.race([
        namespace.exited,
        new Promise<'timeout'>((resolve) => setTimeout(resolve, GRACEFUL_TIMEOUT_S * 1_000, 'timeout')),
      ])
      expect(exit, namespace.stderr).toEqual({ code: 0, signal: null })
      expect(performance.now() - stopAt).toBeLessThan(GRACEFUL_TIMEOUT_S * 1_000)
      expect(namespace.stderr).toMatch(/worker w1 stopped \(shutdown\)/)
      // The namespace ended with its PID 1: no process of it is left.
      expect(processState(initPid)).toBeUndefined()
      expect(namespace.processes()).toEqual([])
    },
    60_000,
  )

  it.each(inits)(
    '%s: an orphan the app leaves behind is re-parented to PID 1, and reaped only by tini',
    async (_how, init, orphanEnds) => {
      const { namespace, target, initPid } = await serveInNamespace(init, orphaningApp)
      const gate = path.join(tempDir(), 'gate')
      const answer = await get(target, `/orphan?gate=${encodeURIComponent(gate)}`, 15_000)
      expect(answer.status).toBe(200)
      const orphan = namespace.outerPid(Number(answer.body))
      expect(orphan, `the orphan (pid ${answer.body} inside)`).toBeDefined()
      expect(processState(orphan!)?.ppid).toBe(initPid)

      // Let the orphan end: tini reaps it; troupe, whose libuv waits only on its own children, does not.
      writeFileSync(gate, '')
      if (orphanEnds === 'reaped') {
        await eventually(() => processState(orphan!) === undefined, 10_000, 'tini to reap the orphan')
      } else {
        await eventually(() => processState(orphan!)?.state === 'Z', 10_000, 'the orphan to end')
        // Still a zombie after the master has handled another request (and its own SIGCHLDs).
        expect((await get(target, '/')).status).toBe(200)
        expect(processState(orphan!)).toEqual({ state: 'Z', ppid: initPid })
      }

      process.kill(initPid, 'SIGTERM')
      expect(await namespace.exited, namespace.stderr).toEqual({ code: 0, signal: null })
      expect(namespace.processes()).toEqual([])
    },
    60_000,
  )
})
