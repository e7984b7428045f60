/**
 * A fetch-style app, one worker: troupe in both placements against `@hono/node-server` serving
 * the same `{ fetch }` on bare node:http (the adapter such apps' users already run), with
 * srvx and bare node:http's `(req, res)` hello for scale. Pinned, keep-alive.
 */
import { alternate, rateRow, ratioTarget, runSeconds } from './compare.ts'
import { bareNode, hono, srvx, troupe } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const candidates = [
  troupe('troupe fetch, thread placement', { app: 'hello-fetch.ts' }),
  troupe('troupe fetch, process placement', { app: 'hello-fetch.ts', placement: 'process' }),
  srvx,
  bareNode,
]

export const fetchApp: Scenario = {
  name: 'fetch',
  title: 'Fetch-style app, one worker, against @hono/node-server',
  estimate: (s) => s.rounds * (1 + candidates.length) * runSeconds(s),
  run: async (settings, progress) => {
    const {
      baseline,
      candidates: measured,
      commands,
    } = await alternate(settings, hono, candidates, { pin: true, close: false }, progress)
    const [thread, process] = measured
    return [
      {
        title: `hello world \`{ fetch }\`, 1 worker, keep-alive: req/s as a ratio to ${hono.name}`,
        method:
          `Server pinned to CPU 1 (all its threads), \`wrk -t1 -c${settings.connections}\` on CPU 0, ` +
          `${settings.duration} s runs after ${settings.warmup} s warm-up on a fresh server, ` +
          `${settings.rounds} rounds (baseline then each candidate); ratio = candidate ÷ the baseline of its round, median (min–max).`,
        rows: [rateRow(baseline, true), ...measured.map((m) => rateRow(m, false))],
        targets: [
          ratioTarget(`fetch app, thread placement ÷ ${hono.name}`, thread!, 1.0, baseline.contender.missing),
          ratioTarget(
            `fetch app, process placement ÷ ${hono.name}`,
            process!,
            1.0,
            baseline.contender.missing,
          ),
        ],
        commands,
      },
    ]
  },
}
