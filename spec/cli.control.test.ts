/**
 * Steering a running master from another process: `troupe ls/tree/scale/kill/restart/reload/stop`
 * and `connect()` against a real `troupe serve`, over its control socket. Each master gets a
 * private control directory (XDG_RUNTIME_DIR), so `ls` and "the only master running" see
 * only this test's masters.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { Stats, TreeNode } from '../runtime/index.ts'
import { connect } from '../runtime/index.ts'
import { encodeFrame, readFrames } from '../transports/control/frames.ts'
import { eventually } from './support/manual-clock.ts'
import { cleanEnv, cliFixture, cliPath, get, run, start, tempDir } from './support/troupe-cli.ts'

const app = cliFixture('worker-app.ts')

/** A master with its own control directory; the CLI commands run with the same environment. */
const serveWithControl = async (extra: readonly string[] = [], runtimeDir = tempDir()) => {
  const env = { XDG_RUNTIME_DIR: runtimeDir }
  const cwd = tempDir()
  const master = start(['serve', app, '--bind', '127.0.0.1:0', '--workers', '2', ...extra], { cwd, env })
  const serving = await master.serving()
  const troupe = (...args: string[]) => run(args, { cwd, env })
  return { master, serving, troupe, env, runtimeDir, cwd }
}

const workersOf = (tree: TreeNode): readonly TreeNode[] =>
  tree.children?.find((c) => c.name === 'workers')?.children ?? []

describe('troupe tree / scale / kill / reload / stop', () => {
  it('scale 4 → tree --json shows exactly 4 ready workers; kill → restart count 1 with its exit reason', async () => {
    const { master, troupe, runtimeDir } = await serveWithControl(['--name', 'shop'])
    const socket = path.join(runtimeDir, 'troupe', 'shop.sock')
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700)

    const scaled = await troupe('scale', '4')
    expect(scaled.code).toBe(0)
    expect(scaled.stdout).toBe('scaled from 2 to 4 worker(s)\n')
    const tree = JSON.parse((await troupe('tree', '--json')).stdout) as TreeNode
    const workers = workersOf(tree)
    expect(workers).toHaveLength(4)
    expect(workers.every((w) => w.state === 'ready' && typeof w.pid === 'number')).toBe(true)

    const victim = workers[1]!.name
    const killed = await troupe('kill', victim)
    expect(killed.code).toBe(0)
    expect(killed.stdout).toBe(`killed ${victim} (killed by SIGKILL); its replacement is ready (restart 1)\n`)
    const after = workersOf(JSON.parse((await troupe('tree', '--json')).stdout) as TreeNode)
    const node = after.find((w) => w.name === victim)!
    expect(node.restarts).toBe(1)
    expect(node.lastExit).toEqual({ kind: 'killed', signal: 'SIGKILL' })
    expect(node.state).toBe('ready')
    expect(after.filter((w) => w.name !== victim).every((w) => w.restarts === 0)).toBe(true)

    // Relative counts, and the plain-text tree (stdout is a pipe here).
    expect((await troupe('scale', '-1')).stdout).toBe('scaled from 4 to 3 worker(s)\n')
    expect((await troupe('scale', '+2')).stdout).toBe('scaled from 3 to 5 worker(s)\n')
    const text = (await troupe('tree')).stdout
    expect(text.split('\n')[0]).toMatch(/^NAME\s+PLACEMENT\s+PID\s+STATE\s+UPTIME\s+RESTARTS\s+REQUESTS/)
    expect(text).toMatch(
      new RegExp(`\\n {4}${victim}\\s+thread\\s+${master.pid}/t\\d+\\s+ready\\s+\\S+\\s+1\\s`),
    )
    expect(text).toContain('killed by SIGKILL')
    expect(text).not.toContain('\x1b[')
    await master.stop()
  })

  it('tree on a terminal: branches drawn, states coloured, the same columns', async () => {
    const { master, troupe, env } = await serveWithControl(['--name', 'tty'])
    const command = [process.execPath, cliPath, 'tree', '--name', 'tty'].map((a) => `'${a}'`).join(' ')
    // script(1) gives the command a pseudo-terminal.
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
      env: cleanEnv(env),
      timeout: 15_000,
    })
    const lines = stdout.split(/\r?\n/)
    expect(lines.find((l) => l.includes('workers'))).toMatch(/^└─ workers\s/)
    const w1 = lines.find((l) => l.includes('w1'))!
    expect(w1).toMatch(/^ {3}├─ w1\s+thread\s+\d+\/t\d+\s/)
    expect(w1).toContain('\u001b[32mready\u001b[0m')
    expect(lines.find((l) => l.includes('w2'))).toMatch(/^ {3}└─ w2\s/)
    // Piped, the same rows without glyphs or colour.
    const piped = (await troupe('tree', '--name', 'tty')).stdout
    expect(piped).toMatch(/\n {4}w1\s+thread\s+\d+\/t\d+\s+ready\s/)
    await master.stop()
  })

  it('stats: every request the workers answered, in JSON and as a summary', async () => {
    const { master, serving, troupe } = await serveWithControl()
    for (let i = 0; i < 12; i++) expect((await get(serving.port)).status).toBe(200)
    // Workers report about once a second.
    const stats = await eventually(
      async () => {
        const s = JSON.parse((await troupe('stats', '--json')).stdout) as Stats
        return s.totals.requests === 12 ? s : undefined
      },
      10_000,
      '12 requests in the stats',
    )
    expect(stats.totals.status['2xx']).toBe(12)
    expect(stats.totals.latency.count).toBe(12)
    expect(stats.workers.map((w) => w.id)).toEqual(['w1', 'w2'])
    expect(stats.workers.reduce((n, w) => n + w.requests, 0)).toBe(12)
    expect(stats.listeners).toEqual([
      expect.objectContaining({ address: `127.0.0.1:${serving.port}`, accepted: 12 }),
    ])
    expect(stats.instance.pid).toBe(master.pid)
    expect(stats.config.workers).toBe(2)
    const text = (await troupe('stats')).stdout
    expect(text).toContain(`master (unnamed) pid ${master.pid}, generation 1`)
    expect(text).toContain('requests 12 (2xx 12, 3xx 0, 4xx 0, 5xx 0), in flight 0')
    expect(text).toMatch(/\nWORKER\s+GEN\s+PID\s+STATE\s+REQUESTS/)
    await master.stop()
  })

  it('log-level changes the level of the master and its workers while they run', async () => {
    const runtimeDir = tempDir()
    const env = { XDG_RUNTIME_DIR: runtimeDir }
    const cwd = tempDir()
    const app = fileURLToPath(new URL('./fixtures/failing-app.ts', import.meta.url))
    const master = start(['serve', app, '--bind', '127.0.0.1:0', '--workers', '2'], { cwd, env })
    const { port } = await master.serving()
    const troupe = (...args: string[]) => run(args, { cwd, env })
    // silent: neither the master's lines nor a worker's error line.
    expect((await troupe('log-level', 'silent')).stdout).toBe('log level: silent\n')
    await troupe('scale', '3')
    expect((await get(port, '/boom')).status).toBe(500)
    // Back to info: both speak again.
    expect((await troupe('log-level', 'info')).stdout).toBe('log level: info\n')
    await troupe('scale', '2')
    expect((await get(port, '/boom')).status).toBe(500)
    await master.waitForStderr(/^troupe: error: worker w\d GET \/boom/m)
    expect(master.stderr).not.toContain('scaled to 3 workers')
    expect(master.stderr).toContain('scaled to 2 workers')
    expect(master.stderr.match(/GET \/boom/g)).toHaveLength(1)
    const bad = await troupe('log-level', 'loud')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('setLogLevel: expected one of debug, info, warn, error, silent, got "loud"')
    await master.stop()
  })

  it('refusals exit 1 with one coded line and change nothing', async () => {
    const { master, troupe } = await serveWithControl()
    const zero = await troupe('scale', '0')
    expect(zero.code).toBe(1)
    expect(zero.stderr).toBe(
      'troupe: scale: at least one worker must serve (asked for 0; 2 serving) [TROUPE_E_INVALID_OPTION]\n',
    )
    const unknown = await troupe('kill', 'w99')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(
      /^troupe: kill: no worker "w99" \(workers: w1, w2\) \[TROUPE_E_INVALID_OPTION\]\n$/,
    )
    expect(workersOf(JSON.parse((await troupe('tree', '--json')).stdout) as TreeNode)).toHaveLength(2)
    await master.stop()
  })

  it('reload waits for the new generation and the drain; a failed reload exits 1 and the old one serves', async () => {
    const { master, serving, troupe, cwd } = await serveWithControl()
    const reloaded = await troupe('reload')
    expect(reloaded.code).toBe(0)
    expect(reloaded.stdout).toMatch(
      /^reloaded: generation 2 serves with 2 worker\(s\); the old generation drained \(\d+\.\d s\)\n$/,
    )
    // Only generation 2 is left, and it answers.
    const tree = JSON.parse((await troupe('tree', '--json')).stdout) as TreeNode
    expect(workersOf(tree).map((w) => w.info?.generation)).toEqual([2, 2])
    expect(JSON.parse((await get(serving.port)).body).generation).toBe(2)

    // A config file that is now invalid: the reload is refused, generation 2 keeps serving.
    fs.writeFileSync(path.join(cwd, 'troupe.config.ts'), 'export default { workers: -1 }\n')
    const failed = await troupe('reload')
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(
      /^troupe: reload failed, the old workers keep serving: workers must be an integer >= 1 \(got -1 from file .*troupe\.config\.ts\) \[TROUPE_E_CONFIG\]\n$/,
    )
    expect(JSON.parse((await get(serving.port)).body).generation).toBe(2)
    await master.stop()
  })

  it('stop waits until the master exited and its socket is gone; --fast cuts at once', async () => {
    const { master, troupe, runtimeDir } = await serveWithControl()
    const socket = path.join(runtimeDir, 'troupe', `${master.pid}.sock`)
    expect(fs.existsSync(socket)).toBe(true)
    const stopped = await troupe('stop')
    expect(stopped.code).toBe(0)
    expect(stopped.stdout).toBe(
      `stopping master pid ${master.pid} (draining)…\nstopped (pid ${master.pid} exited)\n`,
    )
    expect((await master.exitWithin()).code).toBe(0)
    expect(fs.existsSync(socket)).toBe(false)

    const second = await serveWithControl()
    const fast = await second.troupe('stop', '--fast')
    expect(fast.stdout).toContain('(fast)')
    expect((await second.master.exitWithin()).code).toBe(0)
    expect(second.master.stderr).toContain('fast stop')
  })
})

describe('finding a master: ls, --name, --control, the only one running', () => {
  it('ls lists every master in the control directory; commands pick one by --name or --control', async () => {
    const runtimeDir = tempDir()
    const a = await serveWithControl(['--name', 'alpha'], runtimeDir)
    const b = await serveWithControl(['--name', 'beta', '--workers', '1'], runtimeDir)
    const listed = await a.troupe('ls')
    expect(listed.code).toBe(0)
    const lines = listed.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+PID\s+BINDS\s+WORKERS\s+GEN\s+UPTIME\s+CONTROL$/)
    expect(lines[1]).toMatch(
      new RegExp(`^alpha\\s+${a.master.pid}\\s+127\\.0\\.0\\.1:${a.serving.port}\\s+2\\s+1\\s`),
    )
    expect(lines[2]).toMatch(
      new RegExp(`^beta\\s+${b.master.pid}\\s+127\\.0\\.0\\.1:${b.serving.port}\\s+1\\s+1\\s`),
    )
    const json = JSON.parse((await a.troupe('ls', '--json')).stdout) as { name: string; pid: number }[]
    expect(json.map((i) => [i.name, i.pid])).toEqual([
      ['alpha', a.master.pid],
      ['beta', b.master.pid],
    ])

    // Two masters: a command must be told which.
    const ambiguous = await a.troupe('tree')
    expect(ambiguous.code).toBe(1)
    expect(ambiguous.stderr).toMatch(
      /2 masters are running \(alpha pid \d+, beta pid \d+\): pick one with --name or --control/,
    )
    const beta = JSON.parse((await a.troupe('tree', '--json', '--name', 'beta')).stdout) as TreeNode
    expect(workersOf(beta)).toHaveLength(1)
    const byPath = await a.troupe(
      'tree',
      '--json',
      '--control',
      path.join(runtimeDir, 'troupe', 'alpha.sock'),
    )
    expect(workersOf(JSON.parse(byPath.stdout) as TreeNode)).toHaveLength(2)

    // A second master under a name in use is refused before it starts anything.
    const clash = await run(['serve', app, '--bind', '127.0.0.1:0', '--name', 'alpha'], {
      cwd: a.cwd,
      env: a.env,
    })
    expect(clash.code).toBe(1)
    expect(clash.stderr).toContain(`master pid ${a.master.pid} already answers on`)
    expect(clash.stderr).toContain('[TROUPE_E_CONTROL_SOCKET]')
    expect(clash.stderr).not.toContain('worker w1 ready')
    await Promise.all([a.master.stop(), b.master.stop()])
    expect((await a.troupe('ls')).stdout).toBe(
      `no running troupe masters (looked in ${path.join(runtimeDir, 'troupe')})\n`,
    )
  })

  it('a stale socket (its master was killed) is replaced; --control none opens none', async () => {
    const dir = tempDir()
    const socket = path.join(dir, 'control.sock')
    const first = await serveWithControl(['--control', socket])
    first.master.signal('SIGKILL')
    await first.master.exitWithin()
    expect(fs.existsSync(socket)).toBe(true)
    const second = await serveWithControl(['--control', socket])
    expect(second.master.stderr).toContain(`control: replacing the stale socket ${socket}`)
    const tree = await second.troupe('tree', '--json', '--control', socket)
    expect(tree.code).toBe(0)
    await second.master.stop()

    const none = await serveWithControl(['--control', 'none'])
    expect(fs.existsSync(path.join(none.runtimeDir, 'troupe'))).toBe(false)
    const missing = await none.troupe('tree')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no running troupe master found in')
    expect(missing.stderr).toContain('[TROUPE_E_CONTROL_UNREACHABLE]')
    await none.master.stop()
  })

  it('refuses a control directory other users can write to', async () => {
    const shared = tempDir()
    fs.chmodSync(shared, 0o777)
    const refused = await run(
      ['serve', app, '--bind', '127.0.0.1:0', '--control', path.join(shared, 'c.sock')],
      {
        cwd: tempDir(),
      },
    )
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('is writable by other users (mode 0777)')
    expect(refused.stderr).toContain('[TROUPE_E_CONTROL_SOCKET]')
  })
})

const actorApp = cliFixture('actor-app.ts')

/** A master of an app with one app actor (`tally`, a thread), with its own control directory. */
const serveActors = async (name: string, env: Record<string, string> = {}) => {
  const runtimeDir = tempDir()
  const cwd = tempDir()
  const fullEnv = { XDG_RUNTIME_DIR: runtimeDir, ...env }
  const master = start(['serve', actorApp, '--bind', '127.0.0.1:0', '--workers', '2', '--name', name], {
    cwd,
    env: fullEnv,
  })
  const serving = await master.serving()
  const troupe = (...args: string[]) => run(args, { cwd, env: fullEnv })
  return { master, serving, troupe, cwd, control: path.join(runtimeDir, 'troupe', `${name}.sock`) }
}

const tallyOf = (tree: TreeNode): TreeNode =>
  tree.children!.find((c) => c.name === 'actors')!.children!.find((c) => c.name === 'tally')!

describe('troupe restart: one app actor', () => {
  it('restarts it in a new thread, counted in the tree; it answers after; workers and unknown names are refused', async () => {
    const { master, serving, troupe } = await serveActors('act')
    const tree = async () => JSON.parse((await troupe('tree', '--json')).stdout) as TreeNode
    const before = tallyOf(await tree())
    expect(before).toMatchObject({ state: 'ready', restarts: 0, placement: 'thread' })

    const restarted = await troupe('restart', 'tally')
    expect(restarted.code).toBe(0)
    const line = /^restarted \/troupe\/actors\/tally \(restart 1, thread (\d+)\)\n$/.exec(restarted.stdout)
    expect(line, restarted.stdout).not.toBeNull()
    const after = tallyOf(await tree())
    expect(after).toMatchObject({
      state: 'ready',
      restarts: 1,
      lastExit: { kind: 'shutdown', forced: false },
    })
    expect(after.threadId).toBe(Number(line![1]))
    expect(after.threadId).not.toBe(before.threadId)
    await master.waitForStderr(/actor \/troupe\/actors\/tally restarted on request \(restart 1\)\n/)
    expect(await get(serving.port, '/count')).toEqual({ status: 200, body: '0' })

    // By path, as JSON.
    const json = await troupe('restart', '/troupe/actors/tally', '--json')
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({
      actor: '/troupe/actors/tally',
      restarts: 2,
      state: 'ready',
      pid: master.pid,
      threadId: expect.any(Number) as unknown,
    })

    const unknown = await troupe('restart', 'nope')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toBe(
      'troupe: restart: no app actor "nope" (app actors: tally) [TROUPE_E_INVALID_OPTION]\n',
    )
    const worker = await troupe('restart', 'w1')
    expect(worker.code).toBe(1)
    expect(worker.stderr).toBe(
      'troupe: restart: w1 is a worker, not an app actor: `troupe kill w1` has its supervisor replace it [TROUPE_E_INVALID_OPTION]\n',
    )
    const stats = JSON.parse((await troupe('stats', '--json')).stdout) as Stats
    expect(stats.workers.map((w) => w.restarts)).toEqual([0, 0])
    expect(stats.actors).toEqual([expect.objectContaining({ name: 'tally', restarts: 2 })])
    // The actor's two exits are counted; worker restarts stay worker restarts.
    expect(stats.exitsByReason).toEqual({ shutdown: 2 })
    expect(stats.restartsByReason).toEqual({})
    expect(stats.totals.restarts).toBe(0)
    await master.stop()
  }, 60_000) // eight CLI runs, each a Node start-up, on a loaded machine

  it('connect().restart: a message told while it restarts is handled by the new incarnation', async () => {
    const gate = path.join(tempDir(), 'gate')
    const { master, serving, control } = await serveActors('held', { GATE_ON_STOP: gate })
    const remote = await connect({ control })
    const before = tallyOf(await remote.tree())
    for (let i = 0; i < 3; i++) expect((await get(serving.port, '/bump')).status).toBe(202)
    await eventually(async () => (await get(serving.port, '/count')).body === '3', 10_000, 'three bumps')

    const restarting = remote.restart('tally')
    // Its stop waits for the gate: it is restarting until the test opens it.
    await eventually(async () => tallyOf(await remote.tree()).state === 'restarting', 10_000, 'restarting')
    expect((await get(serving.port, '/bump')).status).toBe(202)
    await eventually(async () => tallyOf(await remote.tree()).mailbox === 1, 10_000, 'the bump waiting')
    fs.writeFileSync(gate, '')
    const outcome = await restarting
    expect(outcome).toEqual({
      actor: '/troupe/actors/tally',
      restarts: 1,
      state: 'ready',
      pid: master.pid,
      threadId: expect.any(Number) as unknown,
    })
    expect(outcome.threadId).not.toBe(before.threadId)
    // A fresh count, plus the bump told while it restarted.
    expect(await get(serving.port, '/count')).toEqual({ status: 200, body: '1' })
    expect(tallyOf(await remote.tree())).toMatchObject({ restarts: 1, mailbox: 0, lost: 0 })

    await expect(remote.restart('nope')).rejects.toMatchObject({ code: 'TROUPE_E_INVALID_OPTION' })
    await expect(remote.restart('/troupe/workers/w2')).rejects.toMatchObject({
      code: 'TROUPE_E_INVALID_OPTION',
      message: expect.stringContaining('w2 is a worker') as unknown,
    })
    remote.close()
    await master.stop()
  })
})

describe('connect(): the typed control API from a script', () => {
  it('tree, scale, kill and stop with full types; calls pending when the master goes away reject with a code', async () => {
    const { master, runtimeDir } = await serveWithControl(['--name', 'api'])
    const remote = await connect({ control: path.join(runtimeDir, 'troupe', 'api.sock') })
    expect(remote.instance).toMatchObject({ name: 'api', pid: master.pid, workers: 2, generation: 1 })
    expect(await remote.scale(3)).toEqual({ from: 2, to: 3 })
    const tree = await remote.tree()
    expect(workersOf(tree)).toHaveLength(3)
    const killed = await remote.kill('w1')
    expect(killed).toMatchObject({ worker: 'w1', replaced: true, restarts: 1, reason: { kind: 'killed' } })
    await expect(remote.kill('nope')).rejects.toMatchObject({ code: 'TROUPE_E_INVALID_OPTION' })
    // stop() answers once stopping began; the connection closes when the master is gone.
    await remote.stop()
    await remote.closed
    await expect(remote.tree()).rejects.toMatchObject({ code: 'TROUPE_E_CONTROL_UNREACHABLE' })
    expect((await master.exitWithin()).code).toBe(0)
  })
})

describe('the control protocol is versioned', () => {
  it('a CLI refuses a master of another protocol version, naming both', async () => {
    const dir = tempDir()
    const socket = path.join(dir, 'future.sock')
    const future = net.createServer((conn) => {
      conn.write(
        encodeFrame({
          troupe: 'control',
          protocol: 99,
          version: '9.0.0',
          instance: { pid: 1, name: 'future', control: socket },
        }),
      )
      conn.on('error', () => {})
    })
    await new Promise<void>((resolve) => future.listen(socket, resolve))
    try {
      const refused = await run(['tree', '--control', socket], { cwd: dir })
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(
        /the master \(troupe 9\.0\.0\) speaks control protocol 99, this troupe \(troupe \d+\.\d+\.\d+\) speaks 1: use the troupe that started the master \[TROUPE_E_CONTROL_PROTOCOL\]/,
      )
    } finally {
      future.close()
    }
  })

  it('a master refuses a client of another protocol version, and says why', async () => {
    const { master, runtimeDir } = await serveWithControl(['--name', 'old'])
    const conn = net.connect(path.join(runtimeDir, 'troupe', 'old.sock'))
    const frames: unknown[] = []
    readFrames(conn, (frame) => {
      frames.push(frame)
      if (frames.length === 1) conn.write(encodeFrame({ troupe: 'control', protocol: 0, version: '0.0.1' }))
    })
    const closed = new Promise((resolve) => conn.once('close', resolve))
    await closed
    expect(frames[0]).toMatchObject({
      troupe: 'control',
      protocol: 1,
      instance: { name: 'old', pid: master.pid },
    })
    expect(frames[1]).toEqual({
      refused: expect.stringMatching(
        /^the client \(troupe 0\.0\.1\) speaks control protocol 0, the master \(troupe .+\) speaks 1/,
      ) as unknown,
    })
    // The master is unharmed.
    const again = await connect({ control: path.join(runtimeDir, 'troupe', 'old.sock') })
    expect(workersOf(await again.tree())).toHaveLength(2)
    again.close()
    await master.stop()
  })
})

describe('usage', () => {
  it('each command has its own --help; unknown commands and flags are refused with a suggestion', async () => {
    const cwd = tempDir()
    const help = await run(['scale', '--help'], { cwd })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: troupe scale N\|\+N\|-N \[options\]\n/)
    expect(help.stdout).toContain('--timeout SECONDS')
    expect(help.stdout).not.toContain('--workers')
    const typo = await run(['stat'], { cwd })
    expect(typo.code).toBe(2)
    expect(typo.stderr).toBe('troupe: unknown command "stat" (did you mean "stats"?) (see troupe --help)\n')
    const flag = await run(['tree', '--jsn'], { cwd })
    expect(flag.code).toBe(2)
    expect(flag.stderr).toBe(
      'troupe: unknown option "--jsn" for tree (did you mean --json?) (see troupe tree --help)\n',
    )
    const serveFlag = await run(['serve', '--worker', '2'], { cwd })
    expect(serveFlag.code).toBe(2)
    expect(serveFlag.stderr).toContain('unknown option "--worker" (did you mean --workers?)')
    const missing = await run(['kill'], { cwd })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('troupe kill needs WORKER')
    const usage = await run(['--help'], { cwd })
    for (const command of [
      'ls',
      'tree',
      'stats',
      'reload',
      'scale N|+N|-N',
      'kill WORKER',
      'restart ACTOR',
      'stop',
    ])
      expect(usage.stdout).toContain(`  ${command} `)
  })
})
