/**
 * Recycling under load: `--max-requests 100 --max-requests-jitter 20` (gunicorn's flags, the
 * same meaning) on 2 workers while wrk keeps 64 keep-alive connections busy for 30 s (8 s in
 * the short form), so workers recycle many times a second. Bounds: 0 failed requests, and
 * never all workers out of service at once (the control API polled every 5 ms: at least one
 * worker of the serving generation ready and not draining, every time).
 */
import { sleep, whole } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import type { ChaosSettings, Fault } from '../fault.ts'
import { describeLoad, startLoad, wrkArgv } from '../load.ts'
import { controlOf, type Running, startTroupe, troupeArgv } from '../servers.ts'

const CONNECTIONS = 64
const WORKERS = 2
const secondsOf = (s: ChaosSettings) => (s.short ? 8 : 30)
const placements = ['thread', 'process'] as const

export const recycling: Fault = {
  name: 'recycling',
  title: 'Recycling after max requests, under load',
  estimate: (s) => placements.length * (secondsOf(s) + 6),
  run: async (settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const seconds = secondsOf(settings)
    const commands = [wrkArgv({ port: 0, seconds, connections: CONNECTIONS }).join(' ')]
    for (const placement of placements) {
      const shape = {
        name: `troupe ×${WORKERS}, ${placement}`,
        flags: [
          '--workers',
          String(WORKERS),
          '--placement',
          placement,
          '--max-requests',
          '100',
          '--max-requests-jitter',
          '20',
        ],
      }
      commands.push(troupeArgv(shape, 'SOCKET').join(' '))
      let server: Running | undefined
      try {
        server = await startTroupe(shape)
        const master = await controlOf(server)
        const load = startLoad({ port: server.port, seconds, connections: CONNECTIONS })
        const end = Date.now() + seconds * 1_000
        let fewest = Number.POSITIVE_INFINITY
        let samples = 0
        while (Date.now() < end) {
          const stats = await master.stats()
          const generation = stats.instance.generation
          const serving = stats.workers.filter(
            (w) => w.generation === generation && w.state === 'ready' && !w.draining,
          ).length
          fewest = Math.min(fewest, serving)
          samples++
          await sleep(5)
        }
        const result = await load
        const stats = await master.stats()
        master.close()
        const recycled = server.events().filter((e) => e.event === 'worker.recycle').length
        progress(
          `${shape.name}: ${whole(result.sent)} sent, ${result.failed} failed, ${recycled}+ recycles, fewest serving ${fewest}`,
        )
        rows.push({
          server: shape.name,
          load: describeLoad({ connections: CONNECTIONS }),
          sent: whole(result.sent),
          failed: String(result.failed),
          'recycles (logged)': String(recycled),
          'crash restarts': String(stats.totals.restarts),
          'fewest workers serving (of samples)': `${fewest} (${samples})`,
        })
        targets.push(
          {
            what: `max-requests 100 (+0..20), ${shape.name}: failed requests`,
            measured: `${result.failed} of ${whole(result.sent)}, ${recycled} recycles`,
            bound: '0, and workers recycled',
            met: result.failed === 0 && recycled > 0,
          },
          {
            what: `max-requests 100 (+0..20), ${shape.name}: workers serving at once`,
            measured: `never fewer than ${fewest} (${samples} samples)`,
            bound: '≥ 1 always',
            met: fewest >= 1,
          },
        )
      } finally {
        await server?.stop()
      }
    }
    const finding: Finding = {
      title: `--max-requests 100 --max-requests-jitter 20, 2 workers, ${seconds} s under wrk`,
      method: `wrk -t1 -c${CONNECTIONS} keep-alive; the control API's stats polled every 5 ms for the workers of the serving generation that are ready and not draining. Recycles counted from the master's log (worker.recycle). Unpinned.`,
      rows,
      targets,
      commands,
    }
    return [finding]
  },
}
