/**
 * A handler that allocates without bound, under `--memory 160` (thread: the V8 heap limit;
 * process: an RSS limit the master enforces): two requests to /leak at once every 100 ms, which
 * the balancer spreads over the two workers, so both leak in step and die close together — the
 * worst moment, when a reconnection has only dying workers to go to — while wrk keeps 16
 * keep-alive connections on hello. Bounds: the workers that pass the limit end with exit reason
 * `memory` and are replaced, the master keeps serving, and the failed requests are at most what
 * the dying workers held (one per connection, at most all 16 each time); every death counted in
 * the tree.
 */
import { sleep, whole } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import type { ChaosSettings, Fault } from '../fault.ts'
import { probeLoop, probeOnce, startLoad, wrkArgv } from '../load.ts'
import { controlOf, startTroupe, troupeArgv } from '../servers.ts'

/** How wrk saw its failures: socket errors by kind, and answers that were not 2xx/3xx. */
const wrkFailures = (output: string): string => {
  const socket = /Socket errors: (.*)/.exec(output)?.[1] ?? 'no socket errors'
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? '0'
  return `${socket}; non-2xx ${non2xx}`
}

const secondsOf = (s: ChaosSettings) => (s.short ? 10 : 20)
const placements = ['thread', 'process'] as const
const CONNECTIONS = 16
/** Two /leak requests at once (spread over the workers), then this pause, ms. */
const LEAK_GAP_MS = 100

/** How long the leak may go on past the load for the first death, ms. */
const EXTRA_MS = 30_000
const WORKERS = 2

export const memory: Fault = {
  name: 'memory',
  title: 'A handler that allocates without bound, under a memory limit',
  estimate: (s) => placements.length * (secondsOf(s) + 6),
  run: async (settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const seconds = secondsOf(settings)
    const commands = [wrkArgv({ port: 0, seconds, connections: CONNECTIONS }).join(' ')]
    for (const placement of placements) {
      const shape = {
        name: `troupe ×${WORKERS}, ${placement}, --memory 160`,
        app: 'apps/leaky.mjs',
        flags: ['--workers', String(WORKERS), '--placement', placement, '--memory', '160'],
      }
      commands.push(troupeArgv(shape, 'SOCKET').join(' '))
      const server = await startTroupe(shape)
      try {
        const master = await controlOf(server)
        const load = startLoad({ port: server.port, seconds, connections: CONNECTIONS })
        const leak = probeLoop(server.port, '/leak', LEAK_GAP_MS, WORKERS)
        await sleep(seconds * 1_000)
        // On a machine this loaded (CI runs the short form beside the tests) the leak may not have
        // reached the limit yet: it goes on, past the load, until a worker has died of it or
        // EXTRA_MS passed. The bound on deaths is about the fault happening, not how soon.
        const extraUntil = Date.now() + EXTRA_MS
        while (
          Date.now() < extraUntil &&
          !server.events().some((e) => e.event === 'worker.exit' && e.reason === 'memory')
        )
          await sleep(250)
        await leak.stop()
        const result = await load
        await sleep(500)
        const after = await probeOnce(server.port)
        master.close()
        const exits = server.events().filter((e) => e.event === 'worker.restart' || e.event === 'worker.exit')
        const reasons = exits.map((e) => String(e.msg).replace(/^worker w\d+ /, ''))
        // Deaths as the log tells them, exits and reasons from the same records: the restart count
        // in stats lags an exit whose replacement is still starting.
        const died = exits.filter((e) => e.event === 'worker.exit')
        const deaths = died.length
        const byMemory = died.filter((e) => e.reason === 'memory').length
        // What a dying worker had in flight: at most one request per connection it held, and it
        // may have held them all (handoff gives a connection to the least busy worker). The
        // master stops handing connections to a worker the moment it knows it is dying (a thread's
        // lifeline closed, a process killed for its RSS), so a reconnection is not cut again.
        const allowed = deaths * CONNECTIONS
        progress(
          `${placement}: ${deaths} worker deaths (${byMemory} by memory), ${whole(result.sent)} sent, ${result.failed} failed (${wrkFailures(result.run.output)})`,
        )
        rows.push({
          server: shape.name,
          'worker deaths (logged)': String(deaths),
          'logged with reason memory': String(byMemory),
          'exit lines': [...new Set(reasons)].slice(0, 3).join('; '),
          sent: whole(result.sent),
          failed: String(result.failed),
          'of which (wrk)': wrkFailures(result.run.output),
          'answer after': `${after.status}`,
        })
        targets.push(
          {
            what: `${placement}: workers past --memory die with reason memory and are replaced`,
            measured: `${deaths} deaths, ${byMemory} logged as memory; after: ${after.status}`,
            bound: '≥ 1, all memory, then 200',
            met: deaths >= 1 && byMemory === deaths && after.status === 200,
          },
          {
            what: `${placement}: requests failed while workers died of memory`,
            measured: `${result.failed} of ${whole(result.sent)}`,
            bound: `≤ ${allowed} (${CONNECTIONS} connections per death)`,
            met: result.failed <= allowed,
          },
        )
      } finally {
        await server.stop()
      }
    }
    const finding: Finding = {
      title: `GET /leak twice at once every ${LEAK_GAP_MS} ms for ${seconds} s (8 MiB of buffers + ~12 MB of heap kept each), under wrk on hello`,
      method: `troupe --memory 160 (thread: resourceLimits' heap limit; process: RSS limit). wrk -t1 -c${CONNECTIONS} keep-alive on /. Deaths and their reasons from the master's log (worker.exit records); a GET / after the run.`,
      rows,
      targets,
      commands,
    }
    return [finding]
  },
}
