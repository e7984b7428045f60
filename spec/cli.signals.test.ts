/**
 * Signals sent to a real `troupe serve` process, for what the README promises of them beyond
 * spec/cli.test.ts: HUP re-reads the config file, and a second TERM does not wait for the drain.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { get, start, tempDir } from './support/troupe-cli.ts'

const workerApp = fileURLToPath(new URL('./fixtures/cli/worker-app.ts', import.meta.url))

/** One keep-alive request: who answered, and the Keep-Alive header node:http sets from `keepAlive`. */
const keepAliveAnswer = (port: number) =>
  new Promise<{ id: string; generation: number; keepAlive: string | undefined }>((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true })
    onTestFinished(() => agent.destroy())
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => {
          const { id, generation } = JSON.parse(body) as { id: string; generation: number }
          resolve({ id, generation, keepAlive: res.headers['keep-alive'] as string | undefined })
        })
      })
      .on('error', reject)
  })

describe('troupe serve and its signals', () => {
  it('HUP re-reads the config file: the new generation runs with its new values', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'troupe.config.ts')
    const config = (workers: number, keepAlive: number) =>
      `export default { app: ${JSON.stringify(workerApp)}, workers: ${workers}, keepAlive: ${keepAlive} }\n`
    fs.writeFileSync(file, config(1, 5))
    const troupe = start(['serve', '--bind', '127.0.0.1:0'], { cwd: dir })
    const { port } = await troupe.serving()
    const before = await keepAliveAnswer(port)
    expect(before).toMatchObject({ generation: 1, keepAlive: 'timeout=5' })

    fs.writeFileSync(file, config(2, 7))
    troupe.signal('SIGHUP')
    await troupe.waitForStderr(/^troupe: reloaded: generation 2, 2 workers$/m)
    const after = await keepAliveAnswer(port)
    expect(after).toMatchObject({ generation: 2, keepAlive: 'timeout=7' })
    // Two workers of generation 2 answer (connections go to the least loaded one, so held ones spread).
    const ids = new Set<string>()
    await eventually(
      async () => {
        const answers = await Promise.all(Array.from({ length: 4 }, () => get({ port })))
        for (const answer of answers) {
          const { id, generation } = JSON.parse(answer.body) as { id: string; generation: number }
          expect(generation).toBe(2)
          ids.add(id)
        }
        return ids.size === 2
      },
      10_000,
      'answers from two workers',
    )
    expect(ids.has(before.id)).toBe(false)

    troupe.signal('SIGTERM')
    const exit = await troupe.exitWithin(10_000)
    expect(exit.code, exit.stderr).toBe(0)
  })

  it('a second TERM during a graceful stop stops at once, cutting the request still in flight', async () => {
    const troupe = start(['serve', workerApp, '--bind', '127.0.0.1:0', '--graceful-timeout', '60'], {
      cwd: tempDir(),
    })
    const { port } = await troupe.serving()
    const signals = handlerSignals()
    // Held until the gate opens, which it never does: only a forced stop ends it.
    const held = get({ port }, `/?${signals.held}`, 60_000)
    held.catch(() => {})
    await signals.waitStarted()
    troupe.signal('SIGTERM')
    await troupe.waitForStderr(/^troupe: graceful stop: draining$/m)
    expect(troupe.running).toBe(true)
    troupe.signal('SIGTERM')
    // Well within the 60 s the drain would have allowed.
    const exit = await troupe.exitWithin(10_000)
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stderr).toMatch(/^troupe: stopping now$/m)
    await expect(held).rejects.toThrow()
  })
})
