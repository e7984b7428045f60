/**
 * An app that cannot start. (a) Its module throws on import: the master refuses at start-up,
 * exits non-zero with one line. (b) It imports but its per-worker `setup` throws: workers are
 * restarted with backoff until the supervisor gives up past its intensity, and the master exits
 * non-zero with one line naming the cause — its CPU low all the while. (c) A reload to either
 * app keeps the old generation serving: 0 failed requests under load, the reload reported
 * failed. Both placements.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixed, root, sleep, start, whole } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import { cpuMs } from '../cpu.ts'
import { type Fault, timing } from '../fault.ts'
import { describeLoad, startLoad } from '../load.ts'
import { controlOfSocket, parseEvents, startTroupe, troupeArgv } from '../servers.ts'

const placements = ['thread', 'process'] as const
const app = (name: string) => join(root, 'spec/chaos/apps', name)
/** Average CPU of the master's tree while it retries, as a share of one core. */
const CPU_BOUND = 0.25

interface Exit {
  readonly code: number | null
  readonly ms: number
  readonly cpu: number
  readonly lines: string[]
}

/** Runs `serve` until it exits by itself (or `capMs`), sampling its CPU time. */
const serveUntilExit = async (argv: string[], capMs: number): Promise<Exit> => {
  const began = performance.now()
  const child = start(argv)
  let output = ''
  child.stderr!.on('data', (c: Buffer) => {
    output += c
  })
  child.stdout!.on('data', (c: Buffer) => {
    output += c
  })
  let cpu = 0
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let code: number | null | undefined
  void exited.then((c) => {
    code = c
  })
  while (code === undefined && performance.now() - began < capMs) {
    const sample = cpuMs(child.pid!)
    if (Number.isFinite(sample)) cpu = sample
    await sleep(50)
  }
  if (code === undefined) {
    child.kill('SIGKILL')
    await exited
  }
  return {
    code: code ?? null,
    ms: performance.now() - began,
    cpu,
    lines: output.split('\n').filter((l) => l.trim() !== ''),
  }
}

const level = (line: string) => {
  try {
    return String((JSON.parse(line) as { level?: string }).level)
  } catch {
    return 'text'
  }
}

/** The last error line's message (else the last line). */
const lastLine = (exit: Exit, errors: readonly string[]): string => {
  const last = errors.at(-1) ?? exit.lines.at(-1) ?? ''
  try {
    return String((JSON.parse(last) as { msg?: string }).msg)
  } catch {
    return last
  }
}

export const crashAtBoot: Fault = {
  name: 'crash-at-boot',
  title: 'An app that cannot start: at start-up, and on reload',
  estimate: () => placements.length * 75,
  run: async (_settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const commands: string[] = []
    for (const placement of placements) {
      for (const [what, file] of [
        ['throws on import', 'import-throws.mjs'],
        ['setup throws in every worker', 'setup-throws.mjs'],
      ] as const) {
        // No control socket: the master only has to start, fail and say why.
        const argv = troupeArgv(
          { name: what, app: app(file), flags: ['--workers', '2', '--placement', placement] },
          'none',
        )
        commands.push(argv.join(' '))
        const exit = await serveUntilExit(argv, 120_000)
        const events = parseEvents(exit.lines.join('\n'))
        const restarts = events.filter(
          (e) => e.event === 'worker.restart' || e.event === 'worker.exit',
        ).length
        const errors = exit.lines.filter(
          (l) => level(l) === 'error' || level(l) === 'fatal' || level(l) === 'text',
        )
        const cpuShare = exit.cpu / exit.ms
        progress(
          `${placement}, ${what}: exit ${exit.code} after ${fixed(exit.ms, 0)} ms, ${restarts} restart events, cpu ${fixed(cpuShare * 100, 1)}%`,
        )
        rows.push({
          placement,
          app: what,
          'exit code': String(exit.code),
          'exited after': `${fixed(exit.ms / 1_000, 1)} s`,
          'worker restarts logged': String(restarts),
          'CPU (share of a core)': `${fixed(cpuShare * 100, 1)}%`,
          'error lines': String(errors.length),
          'last line': lastLine(exit, errors),
        })
        targets.push({
          what: `${placement}, app ${what}: the master exits non-zero with one error line`,
          measured: `exit ${exit.code}, ${errors.length} error line(s), after ${fixed(exit.ms / 1_000, 1)} s`,
          bound: 'exit ≠ 0, 1 line',
          met: exit.code !== null && exit.code !== 0 && errors.length === 1,
        })
      }

      // (b') setup starts failing while the server runs: a worker that dies is replaced by ones
      // that cannot start, which back off until the supervisor gives up and the master exits.
      {
        const dir = mkdtempSync(join(tmpdir(), 'troupe-chaos-marker-'))
        const marker = join(dir, 'broken')
        process.env.TROUPE_CHAOS_BROKEN = marker
        const argv = troupeArgv(
          {
            name: 'setup fails later',
            app: app('setup-fails-later.mjs'),
            flags: ['--workers', '2', '--placement', placement],
          },
          join(dir, 'control.sock'),
        )
        commands.push(`TROUPE_CHAOS_BROKEN=FILE ${argv.join(' ')}`)
        const running = serveUntilExit(argv, 180_000)
        delete process.env.TROUPE_CHAOS_BROKEN
        // Serving first: then the dependency goes, and one worker dies.
        await sleep(1_500)
        writeFileSync(marker, '')
        const master = await controlOfSocket(join(dir, 'control.sock'))
        await master.kill('w1').catch(() => {})
        master.close()
        const exit = await running
        rmSync(dir, { recursive: true, force: true })
        const events = parseEvents(exit.lines.join('\n'))
        // Each failed start is a crash exit its supervisor restarts (worker.exit, reason crash).
        const restarts = events.filter((e) => e.event === 'worker.exit' && e.reason === 'crash').length
        const errors = exit.lines.filter(
          (l) => level(l) === 'error' || level(l) === 'fatal' || level(l) === 'text',
        )
        const cpuShare = exit.cpu / exit.ms
        const last = lastLine(exit, errors)
        progress(
          `${placement}, setup fails after start: exit ${exit.code}, ${restarts} restarts, cpu ${fixed(cpuShare * 100, 1)}%`,
        )
        rows.push({
          placement,
          app: 'setup fails once serving (a worker killed)',
          'exit code': String(exit.code),
          'exited after': `${fixed(exit.ms / 1_000, 1)} s`,
          'worker restarts logged': String(restarts),
          'CPU (share of a core)': `${fixed(cpuShare * 100, 1)}%`,
          'error lines': String(errors.length),
          'last line': last,
        })
        targets.push(
          {
            what: `${placement}, setup fails once serving: retried with backoff, then the master exits non-zero, its last line naming the cause`,
            measured: `exit ${exit.code} after ${fixed(exit.ms / 1_000, 1)} s, ${restarts} failed starts`,
            bound: 'exit ≠ 0, > 1 retry, the app’s error in the last line',
            met: exit.code !== null && exit.code !== 0 && restarts > 1 && last.includes('ECONNREFUSED'),
          },
          timing({
            what: `${placement}, setup fails once serving: CPU while retrying`,
            measured: `${fixed(cpuShare * 100, 1)}% of a core`,
            bound: `≤ ${CPU_BOUND * 100}%`,
            met: cpuShare <= CPU_BOUND,
          }),
        )
      }

      // (c) a reload to each broken app, under load: the old generation keeps serving.
      const dir = mkdtempSync(join(tmpdir(), 'troupe-chaos-app-'))
      const live = join(dir, 'app.mjs')
      copyFileSync(app('hello.mjs'), live)
      const server = await startTroupe({
        name: `troupe ×2, ${placement}`,
        app: live,
        flags: ['--workers', '2', '--placement', placement],
      })
      try {
        const seconds = 12
        const load = startLoad({ port: server.port, seconds, connections: 32 })
        await sleep(1_000)
        for (const broken of ['import-throws.mjs', 'setup-throws.mjs']) {
          copyFileSync(app(broken), live)
          const before = server.events().filter((e) => e.event?.startsWith('reload.')).length
          process.kill(server.pid, 'SIGHUP')
          const deadline = Date.now() + 8_000
          while (
            Date.now() < deadline &&
            server.events().filter((e) => e.event?.startsWith('reload.')).length === before
          )
            await sleep(50)
        }
        const result = await load
        const failedReloads = server.events().filter((e) => e.event === 'reload.failed').length
        progress(
          `${placement}, reload to broken apps: ${whole(result.sent)} sent, ${result.failed} failed, ${failedReloads} reloads failed`,
        )
        rows.push({
          placement,
          app: 'reload to each of them under load',
          'exit code': '—',
          'exited after': '—',
          'worker restarts logged': '—',
          'CPU (share of a core)': '—',
          'error lines': String(failedReloads),
          'last line': `${whole(result.sent)} requests (${describeLoad({ connections: 32 })}), ${result.failed} failed`,
        })
        targets.push({
          what: `${placement}: a reload to an app that cannot start keeps the old generation serving`,
          measured: `${result.failed} failed of ${whole(result.sent)}, ${failedReloads}/2 reloads reported failed`,
          bound: '0 failed, 2 reported',
          met: result.failed === 0 && failedReloads === 2,
        })
      } finally {
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const finding: Finding = {
      title: 'apps that cannot start: refused, retried with backoff, or kept out by a reload',
      method:
        'The master serves the app (2 workers) until it exits by itself; CPU = utime+stime of the master and the workers it reaped (/proc), over the wall time. Error lines: records at level error (JSON logs). The reload case: wrk (32 keep-alive connections) while the app file is replaced by each broken app and HUP is sent.',
      rows,
      targets,
      commands,
    }
    return [finding]
  },
}
