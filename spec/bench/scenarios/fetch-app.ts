/**
 * A fetch-style app, one worker: troupe in both placements against `@hono/node-server` serving
 * the same `{ fetch }` on bare node:http (the adapter such apps' users already run), with
 * srvx and bare node:http's `(req, res)` hello for scale. Pinned, keep-alive.
 */
import { type Comparison, compareTable, comparisonSeconds, ratioTarget } from './compare.ts'
import { bareNode, hono, srvx, troupe } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const comparison: Comparison = {
  title: `hello world \`{ fetch }\`, 1 worker, keep-alive: req/s as a ratio to ${hono.name}`,
  baseline: hono,
  candidates: [
    troupe('troupe fetch, thread placement', { app: 'hello-fetch.ts' }),
    troupe('troupe fetch, process placement', { app: 'hello-fetch.ts', placement: 'process' }),
    srvx,
    bareNode,
  ],
  load: { pin: true, close: false },
  targets: ([thread, process], base) => [
    ratioTarget(`fetch app, thread placement ÷ ${hono.name}`, thread!, 1.0, base.contender.missing),
    ratioTarget(`fetch app, process placement ÷ ${hono.name}`, process!, 1.0, base.contender.missing),
  ],
}

export const fetchApp: Scenario = {
  name: 'fetch',
  title: 'Fetch-style app, one worker, against @hono/node-server',
  estimate: (s) => comparisonSeconds(s, comparison),
  run: async (settings, progress) => [await compareTable(settings, comparison, progress)],
}
