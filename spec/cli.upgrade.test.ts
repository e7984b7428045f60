/**
 * USR2 upgrades troupe itself, under real load: a real `troupe serve` starts a new master that
 * inherits its listeners, and drains and exits once the new one serves. No request fails, the
 * new master's workers answer afterwards (the fixture says which process served), the pid file
 * moves to the new master. A new master that cannot start leaves the old one serving.
 *
 * The new master is no child of the test (the old master started it, and it outlives it):
 * each test kills it by pid when it ends.
 */
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { connect } from '../runtime/index.ts'
import type { Hello } from '../runtime/master/observe/dashboard/feed-types.ts'
import { adminGet, parseAdminLine } from './support/admin.ts'
import { openEventStream } from './support/event-stream.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { childPids, get, start, type Troupe, tempDir } from './support/troupe-cli.ts'
import { startWrk } from './support/wrk.ts'

const workerApp = fileURLToPath(new URL('./fixtures/cli/worker-app.ts', import.meta.url))

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Waits for the old master's `upgrade: started a new master (pid N)` line (from `from` on) and
 * returns N; the new master (and so its thread workers) is killed when the test ends.
 */
const newMasterPid = async (troupe: Troupe, from = 0): Promise<number> => {
  // On stderr, which every master shares: the one signalled may be a new master, not the child.
  const [, pid] = await eventually(
    () =>
      /^troupe: upgrade: started a new master \(pid (\d+)\)/m.exec(troupe.stderr.slice(from)) ?? undefined,
    10_000,
    'the "started a new master" line on stderr',
  )
  const newPid = Number(pid)
  onTestFinished(() => {
    if (alive(newPid)) process.kill(newPid, 'SIGKILL')
  })
  return newPid
}

/** Stops the new master (TERM) and waits until it is gone. */
const stopNewMaster = async (pid: number) => {
  process.kill(pid, 'SIGTERM')
  await eventually(() => !alive(pid), 20_000, `the new master (pid ${pid}) to exit`)
}

/** Who answered: the fixture's `{ id, generation, pid }`. */
const pidOf = (answer: { readonly body: string }) => (JSON.parse(answer.body) as { pid: number }).pid

/** Requests over a Unix socket from `connections` loops until stopped, counting what failed. */
const unixLoad = (socketPath: string, { connections, close }: { connections: number; close: boolean }) => {
  const agent = new http.Agent({ keepAlive: !close, maxSockets: connections })
  onTestFinished(() => agent.destroy())
  const counts = { requests: 0, errors: 0, non2xx: 0, failures: [] as string[] }
  let running = true
  const once = () =>
    new Promise<void>((resolve) => {
      const request = http.get(
        { socketPath, path: '/', agent, headers: close ? { connection: 'close' } : {}, timeout: 10_000 },
        (res) => {
          res.resume()
          res.on('end', () => {
            counts.requests++
            if (res.statusCode !== 200) counts.non2xx++
            resolve()
          })
          res.on('error', (error) => {
            counts.errors++
            counts.failures.push(error.message)
            resolve()
          })
        },
      )
      request.on('timeout', () => request.destroy(new Error('no answer within 10 s')))
      request.on('error', (error) => {
        counts.errors++
        counts.failures.push(error.message)
        resolve()
      })
    })
  const loops = Array.from({ length: connections }, async () => {
    while (running) await once()
  })
  return {
    counts,
    async stop() {
      running = false
      await Promise.all(loops)
      return counts
    },
  }
}

describe.each([
  ['keep-alive', false],
  ['Connection: close', true],
] as const)('USR2 under wrk (%s traffic)', (_label, close) => {
  it.each([
    ['handoff', 'thread', 'zero failed requests'],
    ['handoff', 'process', 'zero failed requests'],
    ['reuseport', 'thread', 'no request unanswered'],
  ] as const)(
    '%s, %s workers: %s; the new master serves, the old one exits 0, the pid file follows',
    async (strategy, placement, _outcome) => {
      const dir = tempDir()
      const pidFile = path.join(dir, 'troupe.pid')
      const troupe = start(
        [
          'serve',
          workerApp,
          '--bind',
          '127.0.0.1:0',
          '--workers',
          '2',
          '--strategy',
          strategy,
          '--placement',
          placement,
          '--pid',
          pidFile,
        ],
        { cwd: dir },
      )
      const { port, pid: oldPid } = await troupe.serving()
      expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${oldPid}\n`)
      // A thread worker answers with its master's pid, a process worker with its own.
      const workerOf = (master: number, pid: number) =>
        placement === 'thread' ? pid === master : childPids(master).includes(pid)
      const servedBy = (master: number) => (line: string) => workerOf(master, Number(line.split(' ')[2]))
      const signals = handlerSignals()
      const load = startWrk(`http://127.0.0.1:${port}/?${signals.started}&every=50`, {
        connections: 16,
        close,
      })
      await signals.waitFor(servedBy(oldPid), 'load on the old master')

      troupe.signal('SIGUSR2')
      const newPid = await newMasterPid(troupe)
      await troupe.waitForStderr(
        new RegExp(
          `^troupe: upgrade: the new master \\(pid ${newPid}\\) serves; this one \\(pid ${oldPid}\\) drains and exits$`,
          'm',
        ),
        30_000,
      )
      const exit = await troupe.exitWithin(30_000)
      expect(exit.code, exit.stderr).toBe(0)
      await signals.waitFor(servedBy(newPid), 'load on the new master')
      const result = await load.stop()

      if (strategy === 'handoff')
        expect({ errors: result.errors, non2xx: result.non2xx }, result.output).toEqual({
          errors: { connect: 0, read: 0, write: 0, timeout: 0 },
          non2xx: 0,
        })
      else {
        // The old workers' SO_REUSEPORT listeners close: SYNs queued on them are reset unless
        // net.ipv4.tcp_migrate_req=1 (as on a reload; see the README), never left unanswered.
        console.log(
          `reuseport USR2, ${_label}: ${result.requests} requests, ${result.socketErrors} socket errors, ${result.non2xx} non-2xx`,
        )
        expect(result.non2xx).toBe(0)
        expect(result.errors.timeout).toBe(0)
        expect(result.socketErrors).toBeLessThan(result.requests / 20)
      }
      expect(workerOf(newPid, pidOf(await get(port)))).toBe(true)
      expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${newPid}\n`)
      expect(fs.existsSync(`${pidFile}.oldbin`)).toBe(false)
      expect(troupe.stderr).not.toMatch(/TROUPE_W_UPGRADE_FAILED/)

      await stopNewMaster(newPid)
      expect(fs.existsSync(pidFile)).toBe(false)
    },
    90_000,
  )
})

describe.each([
  ['keep-alive', false],
  ['Connection: close', true],
] as const)('USR2 with a unix: bind (%s traffic)', (_label, close) => {
  it('zero failed requests; the socket file (and the control socket) stay for the new master, which removes them on exit', async () => {
    const dir = tempDir()
    const socket = path.join(dir, 'app.sock')
    const control = path.join(dir, 'control.sock')
    const troupe = start(
      ['serve', workerApp, '--bind', `unix:${socket}`, '--workers', '2', '--control', control],
      { cwd: dir },
    )
    const { pid: oldPid } = await troupe.serving()
    const load = unixLoad(socket, { connections: 8, close })
    await eventually(() => load.counts.requests > 100, 10_000, 'load on the old master')

    troupe.signal('SIGUSR2')
    const newPid = await newMasterPid(troupe)
    const exit = await troupe.exitWithin(30_000)
    expect(exit.code, exit.stderr).toBe(0)
    // Load after the old master left, all of it answered by the new one.
    const before = load.counts.requests
    await eventually(() => load.counts.requests > before + 100, 10_000, 'load on the new master')
    const counts = await load.stop()
    expect({ errors: counts.errors, non2xx: counts.non2xx, failures: counts.failures.slice(0, 3) }).toEqual({
      errors: 0,
      non2xx: 0,
      failures: [],
    })
    expect(counts.requests).toBeGreaterThan(200)
    expect(fs.lstatSync(socket).isSocket()).toBe(true)
    expect(pidOf(await get({ socketPath: socket }))).toBe(newPid)
    expect(newPid).not.toBe(oldPid)
    // The new master took the control socket over: `troupe tree --control` steers it.
    const master = await connect({ control })
    expect(master.instance.pid).toBe(newPid)
    master.close()

    await stopNewMaster(newPid)
    expect(fs.existsSync(socket)).toBe(false)
    expect(fs.existsSync(control)).toBe(false)
  }, 90_000)
})

/**
 * A config file (the worker app on `binds`) that, while `hold` exists, keeps the master reading
 * it waiting: a new master held at start. `workers` is written as is (`'many'` is invalid).
 */
const heldConfig = (hold: string, workers: string, binds: readonly string[] = ['127.0.0.1:0']) =>
  [
    `import { existsSync } from 'node:fs'`,
    `while (existsSync(${JSON.stringify(hold)})) await new Promise((resolve) => setTimeout(resolve, 20))`,
    `export default { app: ${JSON.stringify(workerApp)}, bind: ${JSON.stringify(binds)}, workers: ${workers} }`,
    '',
  ].join('\n')

describe('a USR2 upgrade that cannot complete', () => {
  it('a new master that cannot start leaves the old one serving with one line; a USR2 during an upgrade is refused; the next USR2 upgrades', async () => {
    const dir = tempDir()
    const pidFile = path.join(dir, 'troupe.pid')
    const configFile = path.join(dir, 'troupe.config.ts')
    const hold = path.join(dir, 'hold')
    // The new master reads the config file when it starts: while `hold` exists, it waits there.
    const config = (workers: string) => heldConfig(hold, workers)
    fs.writeFileSync(configFile, config('1'))
    const troupe = start(['serve', '--pid', pidFile], { cwd: dir })
    const { port, pid: oldPid } = await troupe.serving()

    // A broken deploy: the config is invalid now.
    fs.writeFileSync(configFile, config("'many'"))
    troupe.signal('SIGUSR2')
    const failedPid = await newMasterPid(troupe)
    await troupe.waitForStderr(/upgrade failed/)
    expect(troupe.stderr).toMatch(
      new RegExp(
        `^troupe: warning: upgrade failed: the new master \\(pid ${failedPid}\\) exited with code 1 before it served; still serving \\(pid ${oldPid}\\) \\[TROUPE_W_UPGRADE_FAILED\\]$`,
        'm',
      ),
    )
    expect(troupe.stderr.match(/upgrade failed/g)).toHaveLength(1)
    expect(troupe.running).toBe(true)
    expect(pidOf(await get(port))).toBe(oldPid)
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${oldPid}\n`)
    expect(fs.existsSync(`${pidFile}.oldbin`)).toBe(false)

    // Fixed; the new master waits on `hold` while a second USR2 arrives.
    fs.writeFileSync(hold, '')
    fs.writeFileSync(configFile, config('1'))
    const from = troupe.stderr.length
    troupe.signal('SIGUSR2')
    const newPid = await newMasterPid(troupe, from)
    expect(fs.readFileSync(`${pidFile}.oldbin`, 'utf8')).toBe(`${oldPid}\n`)
    troupe.signal('SIGUSR2')
    await troupe.waitForStderr(
      new RegExp(
        `^troupe: warning: SIGUSR2 ignored: an upgrade is under way \\(new master pid ${newPid}\\) \\[TROUPE_W_SIGNAL_IGNORED\\]$`,
        'm',
      ),
      10_000,
      from,
    )
    fs.rmSync(hold)
    const exit = await troupe.exitWithin(30_000)
    expect(exit.code, exit.stderr).toBe(0)
    expect(pidOf(await get(port))).toBe(newPid)
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${newPid}\n`)
    expect(fs.existsSync(`${pidFile}.oldbin`)).toBe(false)
    await stopNewMaster(newPid)
  }, 90_000)

  it('a new master that fails after adopting a Unix socket leaves its file to the old master, which keeps serving on it', async () => {
    const dir = tempDir()
    const socket = path.join(dir, 'app.sock')
    const configFile = path.join(dir, 'troupe.config.ts')
    const config = (binds: readonly string[]) =>
      `export default { app: ${JSON.stringify(workerApp)}, bind: ${JSON.stringify(binds)}, workers: 1 }\n`
    fs.writeFileSync(configFile, config([`unix:${socket}`]))
    const troupe = start(['serve'], { cwd: dir })
    const { pid: oldPid } = await troupe.serving()

    // The new master adopts the socket, then cannot bind an address another server holds.
    const taken = net.createServer()
    onTestFinished(() => {
      taken.close()
    })
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const takenPort = (taken.address() as net.AddressInfo).port
    fs.writeFileSync(configFile, config([`unix:${socket}`, `127.0.0.1:${takenPort}`]))
    troupe.signal('SIGUSR2')
    const failedPid = await newMasterPid(troupe)
    await troupe.waitForStderr(
      new RegExp(`upgrade failed: the new master \\(pid ${failedPid}\\) exited with code 1 before it served`),
    )
    expect(troupe.stderr).toMatch(
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${takenPort}: address already in use`),
    )
    expect(pidOf(await get({ socketPath: socket }))).toBe(oldPid)
    const exit = await troupe.stop()
    expect(exit.code, exit.stderr).toBe(0)
    expect(fs.existsSync(socket)).toBe(false)
  }, 60_000)

  it('a new master that does not serve within upgradeTimeout is killed; the old one keeps serving', async () => {
    const dir = tempDir()
    const pidFile = path.join(dir, 'troupe.pid')
    const hold = path.join(dir, 'hold')
    fs.writeFileSync(path.join(dir, 'troupe.config.ts'), heldConfig(hold, '1'))
    const troupe = start(['serve', '--pid', pidFile, '--upgrade-timeout', '2'], { cwd: dir })
    const { port, pid: oldPid } = await troupe.serving()
    fs.writeFileSync(hold, '')
    troupe.signal('SIGUSR2')
    const stuckPid = await newMasterPid(troupe)
    await troupe.waitForStderr(
      new RegExp(
        `^troupe: warning: upgrade failed: the new master \\(pid ${stuckPid}\\) did not serve within 2 s \\(upgradeTimeout\\) and was killed; still serving \\(pid ${oldPid}\\) \\[TROUPE_W_UPGRADE_FAILED\\]$`,
        'm',
      ),
      20_000,
    )
    await eventually(() => !alive(stuckPid), 10_000, 'the stuck new master to be gone')
    expect(troupe.running).toBe(true)
    expect(pidOf(await get(port))).toBe(oldPid)
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${oldPid}\n`)
    expect(fs.existsSync(`${pidFile}.oldbin`)).toBe(false)
    const exit = await troupe.stop()
    expect(exit.code, exit.stderr).toBe(0)
  }, 60_000)
})

describe('USR2 across deploys', () => {
  it('the new master serves the binds its config has; an inherited one it dropped is closed and its file removed', async () => {
    const dir = tempDir()
    const configFile = path.join(dir, 'troupe.config.ts')
    const dropped = path.join(dir, 'dropped.sock')
    const config = (binds: readonly string[]) =>
      `export default { app: ${JSON.stringify(workerApp)}, bind: ${JSON.stringify(binds)}, workers: 1 }\n`
    fs.writeFileSync(configFile, config(['127.0.0.1:0', `unix:${dropped}`]))
    const troupe = start(['serve'], { cwd: dir })
    const { port, pid: oldPid } = await troupe.serving()
    expect(pidOf(await get({ socketPath: dropped }))).toBe(oldPid)

    fs.writeFileSync(configFile, config(['127.0.0.1:0']))
    troupe.signal('SIGUSR2')
    const newPid = await newMasterPid(troupe)
    const exit = await troupe.exitWithin(30_000)
    expect(exit.code, exit.stderr).toBe(0)
    // The kept address is the same port, adopted (not bound again).
    expect(pidOf(await get(port))).toBe(newPid)
    expect(fs.existsSync(dropped)).toBe(false)
    await stopNewMaster(newPid)
  }, 60_000)

  it('a new master can be upgraded in turn: every deploy is one USR2 to the pid in the pid file', async () => {
    const dir = tempDir()
    const pidFile = path.join(dir, 'troupe.pid')
    const socket = path.join(dir, 'app.sock')
    const troupe = start(
      ['serve', workerApp, '--bind', '127.0.0.1:0', '--bind', `unix:${socket}`, '--pid', pidFile],
      {
        cwd: dir,
      },
    )
    const { port, pid: first } = await troupe.serving()
    troupe.signal('SIGUSR2')
    const second = await newMasterPid(troupe)
    expect((await troupe.exitWithin(30_000)).code).toBe(0)
    await eventually(
      () => fs.readFileSync(pidFile, 'utf8') === `${second}\n` && !fs.existsSync(`${pidFile}.oldbin`),
    )

    const from = troupe.stderr.length
    process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGUSR2')
    const third = await newMasterPid(troupe, from)
    await eventually(() => !alive(second), 30_000, `the second master (pid ${second}) to exit`)
    expect(new Set([first, second, third]).size).toBe(3)
    expect(pidOf(await get(port))).toBe(third)
    expect(pidOf(await get({ socketPath: socket }))).toBe(third)
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${third}\n`)
    expect(fs.existsSync(`${pidFile}.oldbin`)).toBe(false)
    await stopNewMaster(third)
    expect(fs.existsSync(socket)).toBe(false)
    expect(fs.existsSync(pidFile)).toBe(false)
  }, 60_000)

  it('a TERM to the old master while the new one starts stops the old one only; the new one then serves its sockets', async () => {
    const dir = tempDir()
    const hold = path.join(dir, 'hold')
    const socket = path.join(dir, 'app.sock')
    const configFile = path.join(dir, 'troupe.config.ts')
    fs.writeFileSync(configFile, heldConfig(hold, '1', ['127.0.0.1:0', `unix:${socket}`]))
    const troupe = start(['serve'], { cwd: dir })
    const { port } = await troupe.serving()
    fs.writeFileSync(hold, '')
    troupe.signal('SIGUSR2')
    const newPid = await newMasterPid(troupe)
    const exit = await troupe.stop(30_000)
    expect(exit.code, exit.stderr).toBe(0)
    // Asked while no master accepts: the connection waits in the kernel's queue for the new one.
    const early = get(port, '/', 30_000)
    fs.rmSync(hold)
    expect(pidOf(await early)).toBe(newPid)
    expect(pidOf(await get({ socketPath: socket }))).toBe(newPid)
    await stopNewMaster(newPid)
    expect(fs.existsSync(socket)).toBe(false)
  }, 60_000)
})

describe('USR2 and the admin listener', () => {
  it.each(['tcp', 'unix'] as const)(
    'the new master serves the same admin address (%s) from the inherited socket: the probes answer throughout, an open dashboard stream reconnects to the new master',
    async (kind) => {
      const dir = tempDir()
      const adminArg = kind === 'tcp' ? '127.0.0.1:0' : `unix:${path.join(dir, 'admin.sock')}`
      const troupe = start(['serve', workerApp, '--bind', '127.0.0.1:0', '--admin', adminArg], { cwd: dir })
      const { pid: oldPid } = await troupe.serving()
      const admin = parseAdminLine(troupe.stderr)!
      const stream = kind === 'tcp' ? await openEventStream(`${admin}/events`) : undefined
      onTestFinished(() => stream?.close())
      const hello = await stream?.next<Hello>('hello')
      expect(hello?.snapshot.instance.pid ?? oldPid).toBe(oldPid)

      // The probes keep answering while one master hands over to the next.
      let probing = true
      const probes: number[] = []
      const probe = (async () => {
        while (probing) {
          probes.push((await adminGet(admin, '/livez').catch(() => ({ status: 0 }))).status)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()
      troupe.signal('SIGUSR2')
      const newPid = await newMasterPid(troupe)
      const exit = await troupe.exitWithin(30_000)
      expect(exit.code, exit.stderr).toBe(0)
      probing = false
      await probe
      expect(probes.length).toBeGreaterThan(5)
      expect(probes.filter((status) => status !== 200)).toEqual([])
      expect(troupe.stderr).not.toMatch(/TROUPE_W_UPGRADE_FAILED|TROUPE_E_LISTEN/)
      expect(troupe.stderr).toContain(`it inherits 127.0.0.1:`)
      expect(troupe.stderr).toMatch(
        new RegExp(`admin ${kind === 'tcp' ? '127\\.0\\.0\\.1:\\d+' : 'unix:'}.* \\(fd \\d+\\)`),
      )

      // Same address, the new master: what a page's EventSource does when its stream ends.
      expect((await adminGet(admin, '/livez')).status).toBe(200)
      if (stream) {
        const again = await openEventStream(`${admin}/events`)
        onTestFinished(() => again.close())
        expect((await again.next<Hello>('hello')).snapshot.instance.pid).toBe(newPid)
      }
      await stopNewMaster(newPid)
      if (kind === 'unix') expect(fs.existsSync(admin.slice('unix:'.length))).toBe(false)
    },
    60_000,
  )
})
