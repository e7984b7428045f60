/**
 * Kills under load: every 2 s for 30 s (8 s in the short form) a random worker dies — SIGKILL
 * to its process (process placement), `terminate()` of its thread through the control API
 * (thread placement) — while wrk keeps 64 keep-alive connections busy. Bounds: failed requests
 * at most what the killed workers had in flight (under wrk every connection carries at most
 * one request, so at most the connections a victim held: all 64 at worst), and the
 * pool back to full strength within 300 ms of each kill (timed by polling the control API).
 */
import { fixed, median, sleep, whole } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import { type ChaosSettings, type Fault, timing } from '../fault.ts'
import { describeLoad, startLoad, wrkArgv } from '../load.ts'
import { controlOf, type Running, startTroupe, troupeArgv } from '../servers.ts'

const CONNECTIONS = 64
const WORKERS = 2
const EVERY_MS = 2_000
const secondsOf = (s: ChaosSettings) => (s.short ? 8 : 30)
const RECOVERY_BOUND_MS = 300

interface KillRecord {
  readonly victim: string
  readonly inflight: number
  /** Connections the victim held (its last report before the kill): each carries at most one request under wrk. */
  readonly connections: number
  /** From the kill to every worker ready again, ms. */
  readonly recoveryMs: number
  readonly reason: string
}

const placements = ['thread', 'process'] as const

const killUnderLoad = async (
  settings: ChaosSettings,
  placement: (typeof placements)[number],
  progress: (line: string) => void,
): Promise<{ row: Record<string, string>; targets: Target[]; command: string }> => {
  const shape = {
    name: `troupe ×${WORKERS}, ${placement}`,
    flags: ['--workers', String(WORKERS), '--placement', placement],
  }
  const seconds = secondsOf(settings)
  let server: Running | undefined
  const kills: KillRecord[] = []
  try {
    server = await startTroupe(shape)
    const master = await controlOf(server)
    const load = startLoad({ port: server.port, seconds: seconds + 2, connections: CONNECTIONS })
    await sleep(1_000)
    const end = Date.now() + seconds * 1_000
    while (Date.now() + EVERY_MS <= end) {
      const next = Date.now() + EVERY_MS
      const before = await master.stats()
      const live = before.workers.filter((w) => w.state === 'ready')
      const victim = live[Math.floor(Math.random() * live.length)]
      if (victim) {
        const restartsBefore = victim.restarts
        const began = performance.now()
        if (placement === 'process' && victim.pid !== null) process.kill(victim.pid, 'SIGKILL')
        else void master.kill(victim.id).catch(() => {})
        // Full strength: the victim replaced (its restart counted) and every worker ready.
        let recoveryMs = Number.NaN
        let reason = ''
        while (performance.now() - began < 10_000) {
          const now = await master.stats()
          const replaced = now.workers.find((w) => w.id === victim.id)
          if (
            replaced &&
            replaced.restarts > restartsBefore &&
            now.workers.length >= WORKERS &&
            now.workers.every((w) => w.state === 'ready')
          ) {
            recoveryMs = performance.now() - began
            reason = replaced.lastExit ? JSON.stringify(replaced.lastExit) : ''
            break
          }
          await sleep(5)
        }
        kills.push({
          victim: victim.id,
          inflight: victim.inflight,
          connections: victim.connections,
          recoveryMs,
          reason,
        })
      }
      await sleep(Math.max(0, next - Date.now()))
    }
    const result = await load
    const stats = await master.stats()
    master.close()
    const recoveries = kills.map((k) => k.recoveryMs)
    // A victim's in-flight requests: one per connection it held, and it may hold any share of
    // wrk's (the balance moves as connections reconnect after each kill): at most all of them.
    const allowed = kills.length * CONNECTIONS
    const reasons = [...new Set(kills.map((k) => k.reason))].join(', ')
    progress(
      `${shape.name}: ${kills.length} kills, ${whole(result.sent)} sent, ${result.failed} failed, recovery median ${fixed(median(recoveries), 0)} ms`,
    )
    return {
      command: troupeArgv(shape, 'SOCKET').join(' '),
      row: {
        server: shape.name,
        load: describeLoad({ connections: CONNECTIONS }),
        kills: String(kills.length),
        sent: whole(result.sent),
        failed: String(result.failed),
        'in flight in victims (sampled before each kill)': String(kills.reduce((n, k) => n + k.inflight, 0)),
        "victims' connections (their last report)": String(kills.reduce((n, k) => n + k.connections, 0)),
        'worker restarts (stats)': String(stats.totals.restarts),
        'exit reasons': reasons,
        'back to full strength, ms (median, max)': `${fixed(median(recoveries), 0)}, ${fixed(Math.max(...recoveries), 0)}`,
      },
      targets: [
        {
          what: `${kills.length} kills, ${shape.name}: failed requests`,
          measured: `${result.failed} of ${whole(result.sent)}`,
          bound: `≤ ${allowed} (one per connection a victim held, at most ${CONNECTIONS})`,
          met: kills.length > 0 && result.failed <= allowed,
        },
        {
          what: `${kills.length} kills, ${shape.name}: every kill replaced and counted`,
          measured: `${stats.totals.restarts} restarts counted, ${recoveries.filter(Number.isFinite).length} back`,
          bound: `${kills.length}`,
          met: stats.totals.restarts === kills.length && recoveries.every(Number.isFinite),
        },
        timing({
          what: `${shape.name}: kill to full strength (slowest of ${kills.length})`,
          measured: `${fixed(Math.max(...recoveries), 0)} ms (median ${fixed(median(recoveries), 0)})`,
          bound: `≤ ${RECOVERY_BOUND_MS} ms`,
          met: recoveries.every((ms) => ms <= RECOVERY_BOUND_MS),
        }),
      ],
    }
  } finally {
    await server?.stop()
  }
}

export const kills: Fault = {
  name: 'kills',
  title: 'A random worker killed every 2 s under load',
  estimate: (s) => placements.length * (secondsOf(s) + 8),
  run: async (settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const commands = [
      wrkArgv({ port: 0, seconds: secondsOf(settings) + 2, connections: CONNECTIONS }).join(' '),
    ]
    for (const placement of placements) {
      const outcome = await killUnderLoad(settings, placement, progress)
      rows.push(outcome.row)
      targets.push(...outcome.targets)
      commands.push(outcome.command)
    }
    const finding: Finding = {
      title: `a random worker killed every ${EVERY_MS / 1_000} s for ${secondsOf(settings)} s, under wrk (${CONNECTIONS} keep-alive connections)`,
      method:
        'Process placement: SIGKILL to the worker process; thread placement: `kill()` through the control API (the thread is terminated). Full strength: the control API reports the victim restarted and every worker ready (polled every 5 ms). Unpinned.',
      rows,
      targets,
      commands,
    }
    return [finding]
  },
}
