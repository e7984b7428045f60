/**
 * A Node-style `(req, res)` app, one worker: troupe in both placements against bare node:http
 * serving the very same handler in one process. Pinned, keep-alive.
 */
import { type Comparison, compareTable, comparisonSeconds, ratioTarget } from './compare.ts'
import { bareNode, troupe } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const comparison: Comparison = {
  title: 'hello world `(req, res)`, 1 worker, keep-alive: req/s as a ratio to bare node:http',
  baseline: bareNode,
  candidates: [
    troupe('troupe (req, res), thread placement', { app: 'hello-node.ts' }),
    troupe('troupe (req, res), process placement', { app: 'hello-node.ts', placement: 'process' }),
    troupe('troupe (req, res), thread placement, reuseport', { app: 'hello-node.ts', strategy: 'reuseport' }),
  ],
  load: { pin: true, close: false },
  targets: ([thread, process]) => [
    ratioTarget('(req, res) app, thread placement ÷ bare node:http', thread!, 0.95),
    ratioTarget('(req, res) app, process placement ÷ bare node:http', process!, 0.95),
  ],
}

export const nodeApp: Scenario = {
  name: 'node',
  title: 'Node-style app, one worker, against bare node:http',
  estimate: (s) => comparisonSeconds(s, comparison),
  run: async (settings, progress) => [await compareTable(settings, comparison, progress)],
}
