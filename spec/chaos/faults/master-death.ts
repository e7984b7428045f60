/**
 * The master SIGKILLed under load. Bounds: no worker process outlives it by more than 2 s
 * (process placement; thread workers are the master's own threads), and the addresses are
 * free at once: a new master started on the same port right after the kill serves on its
 * first attempt. Both strategies.
 */
import { readFileSync } from 'node:fs'
import { fixed, launch, NODE, processTree, sleep, stop } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import { type Fault, timing } from '../fault.ts'
import { startLoad } from '../load.ts'
import { startTroupe } from '../servers.ts'

const SURVIVAL_BOUND_MS = 2_000

/** Alive and not a zombie (a zombie has exited; only its parent's wait is missing). */
const running = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const shapes = [
  { placement: 'process', strategy: 'handoff' },
  { placement: 'process', strategy: 'reuseport' },
  { placement: 'thread', strategy: 'handoff' },
  { placement: 'thread', strategy: 'reuseport' },
] as const

export const masterDeath: Fault = {
  name: 'master-death',
  title: 'The master SIGKILLed under load',
  estimate: () => shapes.length * 8,
  run: async (_settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const commands: string[] = []
    for (const { placement, strategy } of shapes) {
      const name = `troupe ×2, ${placement}, ${strategy}`
      const server = await startTroupe({
        name,
        flags: ['--workers', '2', '--placement', placement, '--strategy', strategy],
      })
      const load = startLoad({ port: server.port, seconds: 3, connections: 16 })
      await sleep(1_000)
      const workers = processTree(server.pid).filter((pid) => pid !== server.pid)
      const killedAt = performance.now()
      process.kill(server.pid, 'SIGKILL')
      // The successor at once, on the same port, as a process manager restarting it would.
      const argv = [
        NODE,
        'dist/cli.js',
        'serve',
        'spec/bench/hello-built.mjs',
        '--bind',
        `127.0.0.1:${server.port}`,
        '--workers',
        '2',
        '--placement',
        placement,
        '--strategy',
        strategy,
        '--control',
        'none',
      ]
      commands.push(argv.join(' '))
      let successor = 'serving'
      let successorMs = Number.NaN
      const started = launch(argv, 30_000)
        .then(async (next) => {
          successorMs = performance.now() - killedAt
          await stop(next, `${name} successor`)
        })
        .catch((error: Error) => {
          successor = `refused: ${error.message.split('\n').find((l) => /EADDRINUSE|error/i.test(l)) ?? error.message.split('\n')[0]}`
        })
      let lastMs = 0
      while (workers.some(running) && performance.now() - killedAt < 10_000) await sleep(10)
      const left = workers.filter(running)
      lastMs = workers.length === 0 ? 0 : performance.now() - killedAt
      await started
      await load.catch(() => undefined)
      await server.stop().catch(() => undefined)
      progress(
        `${name}: ${workers.length} worker processes gone after ${fixed(lastMs, 0)} ms; successor ${successor}`,
      )
      rows.push({
        server: name,
        'worker processes': String(workers.length),
        'last gone after': workers.length === 0 ? '— (threads)' : `${fixed(lastMs, 0)} ms`,
        'still running after 10 s': String(left.length),
        successor: successor === 'serving' ? `serving ${fixed(successorMs, 0)} ms after the kill` : successor,
      })
      if (workers.length > 0)
        targets.push(
          timing({
            what: `${name}: worker processes outliving a SIGKILLed master`,
            measured: `last gone after ${fixed(lastMs, 0)} ms`,
            bound: `≤ ${SURVIVAL_BOUND_MS} ms`,
            met: left.length === 0 && lastMs <= SURVIVAL_BOUND_MS,
          }),
          {
            what: `${name}: no worker process survives a SIGKILLed master`,
            measured: `${left.length} left after 10 s`,
            bound: '0',
            met: left.length === 0,
          },
        )
      targets.push({
        what: `${name}: a new master binds the same port at once`,
        measured: successor,
        bound: 'serving on the first attempt',
        met: successor === 'serving',
      })
    }
    const finding: Finding = {
      title: 'the master SIGKILLed while serving (16 keep-alive connections)',
      method:
        'SIGKILL to the master; its worker processes (read from /proc before the kill) polled every 10 ms until none runs (a zombie counts as gone); a new master started on the same port right after the kill.',
      rows,
      targets,
      commands,
    }
    return [finding]
  },
}
