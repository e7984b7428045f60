/**
 * An app actor killed while the workers ask it under load: every request of wrk's asks the
 * counter actor; every 2 s the actor's thread or process exits at once (`GET /die`: it calls
 * process.exit, as a crash would). Bounds: asks in flight fail with a coded error (the app
 * answers 503 with the error's code), later asks succeed once the supervisor has restarted it,
 * and no worker dies. Actor in thread and in process placement.
 */
import { sleep, whole } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import type { ChaosSettings, Fault } from '../fault.ts'
import { probeLoop, probeOnce, startLoad, wrkArgv } from '../load.ts'
import { controlOf, startTroupe } from '../servers.ts'

const secondsOf = (s: ChaosSettings) => (s.short ? 6 : 20)
const placements = ['thread', 'process'] as const
const CONNECTIONS = 16

export const appActors: Fault = {
  name: 'app-actors',
  title: 'An app actor killed while workers ask it under load',
  estimate: (s) => placements.length * (secondsOf(s) + 8),
  run: async (settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const seconds = secondsOf(settings)
    for (const placement of placements) {
      process.env.TROUPE_CHAOS_ACTOR_PLACEMENT = placement
      const server = await startTroupe({
        name: `troupe ×2, actor in ${placement} placement`,
        app: 'apps/actor-app.mjs',
        flags: ['--workers', '2'],
      })
      delete process.env.TROUPE_CHAOS_ACTOR_PLACEMENT
      try {
        const master = await controlOf(server)
        const load = startLoad({ port: server.port, seconds: seconds + 1, connections: CONNECTIONS })
        // A client of its own beside wrk, to read what a failed ask answered.
        const watch = probeLoop(server.port, '/', 10)
        let kills = 0
        const end = Date.now() + seconds * 1_000
        await sleep(1_000)
        while (Date.now() + 2_000 <= end) {
          await probeOnce(server.port, '/die')
          kills++
          await sleep(2_000)
        }
        const watched = await watch.stop()
        const result = await load
        await sleep(300)
        const final = await probeOnce(server.port, '/')
        const stats = await master.stats()
        master.close()
        const actor = stats.actors.find((a) => a.path.endsWith('/counter'))
        const failures = watched.filter((p) => p.status !== 200)
        const uncoded = failures.filter((p) => !(p.status === 503 && /^TROUPE_E_[A-Z_]+\n$/.test(p.body)))
        const codes = [...new Set(failures.map((p) => `${p.status} ${p.body.trim()}`))]
        progress(
          `actor ${placement}: ${kills} kills, ${whole(result.sent)} sent, ${result.failed} failed, worker restarts ${stats.totals.restarts}, actor restarts ${actor?.restarts}`,
        )
        rows.push({
          actor: placement,
          kills: String(kills),
          'wrk sent': whole(result.sent),
          'wrk failed (503s)': String(result.failed),
          'watcher: failed asks, answers': `${failures.length}: ${codes.join(', ')}`,
          'actor restarts': String(actor?.restarts ?? '—'),
          'worker restarts': String(stats.totals.restarts),
          'after the last kill': `${final.status} ${final.body.trim()}`,
        })
        targets.push(
          {
            what: `actor in ${placement} placement, killed ${kills}×: failed asks carry a coded error`,
            measured: `${failures.length} failed, ${uncoded.length} without a code`,
            bound: '0 without a code',
            met: uncoded.length === 0,
          },
          {
            what: `actor in ${placement} placement: restarted each time, asks succeed after, no worker dies`,
            measured: `actor restarts ${actor?.restarts ?? '—'}, worker restarts ${stats.totals.restarts}, then ${final.status}`,
            bound: `${kills} restarts, 0 worker restarts, 200`,
            met: actor?.restarts === kills && stats.totals.restarts === 0 && final.status === 200,
          },
        )
      } finally {
        await server.stop()
      }
    }
    const finding: Finding = {
      title: `the counter actor killed every 2 s for ${seconds} s while every request asks it (wrk, ${CONNECTIONS} keep-alive connections)`,
      method: `wrk -t1 -c${CONNECTIONS} on / (each request asks the actor); a watcher GETs / every 10 ms on fresh connections to read failed answers; \`GET /die\` makes the actor exit. ${wrkArgv({ port: 0, seconds, connections: CONNECTIONS }).join(' ')}`,
      rows,
      targets,
      commands: [],
    }
    return [finding]
  },
}
