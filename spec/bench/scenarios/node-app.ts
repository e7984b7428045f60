/**
 * A Node-style `(req, res)` app, one worker: troupe in both placements against bare node:http
 * serving the very same handler in one process. Pinned, keep-alive.
 */
import { alternate, rateRow, ratioTarget, runSeconds } from './compare.ts'
import { bareNode, troupe } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const candidates = [
  troupe('troupe (req, res), thread placement', { app: 'hello-node.ts' }),
  troupe('troupe (req, res), process placement', { app: 'hello-node.ts', placement: 'process' }),
  troupe('troupe (req, res), thread placement, reuseport', { app: 'hello-node.ts', strategy: 'reuseport' }),
]

export const nodeApp: Scenario = {
  name: 'node',
  title: 'Node-style app, one worker, against bare node:http',
  estimate: (s) => s.rounds * (1 + candidates.length) * runSeconds(s),
  run: async (settings, progress) => {
    const {
      baseline,
      candidates: measured,
      commands,
    } = await alternate(settings, bareNode, candidates, { pin: true, close: false }, progress)
    const [thread, process] = measured
    return [
      {
        title: 'hello world `(req, res)`, 1 worker, keep-alive: req/s as a ratio to bare node:http',
        method:
          `Server pinned to CPU 1, \`wrk -t1 -c${settings.connections}\` on CPU 0, ${settings.duration} s runs after ` +
          `${settings.warmup} s warm-up, ${settings.rounds} rounds; ratio = candidate ÷ bare node:http of its round.`,
        rows: [rateRow(baseline, true), ...measured.map((m) => rateRow(m, false))],
        targets: [
          ratioTarget('(req, res) app, thread placement ÷ bare node:http', thread!, 0.95),
          ratioTarget('(req, res) app, process placement ÷ bare node:http', process!, 0.95),
        ],
        commands,
      },
    ]
  },
}
