/**
 * Two workers, not pinned (server and wrk share the cores): troupe in both placements (handoff,
 * the default strategy) and with `--strategy reuseport`, and PM2 in cluster mode, against
 * node:cluster with two workers, all serving the same `(req, res)` hello; keep-alive, then a
 * new connection per request (`Connection: close`), where the acceptor's work shows.
 */
import { type Comparison, compareTable, comparisonSeconds, type Load, ratioTarget } from './compare.ts'
import { cluster, pm2, troupe } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const two = { app: 'hello-node.ts', workers: 2 } as const
const baseline = cluster(2)
const candidates = [
  troupe('troupe ×2, thread placement', two),
  troupe('troupe ×2, process placement', { ...two, placement: 'process' }),
  troupe('troupe ×2, thread placement, reuseport', { ...two, strategy: 'reuseport' }),
  pm2(2),
]

const comparison = (load: Load, label: string, reuseportAtLeast?: number): Comparison => ({
  title: `hello world \`(req, res)\`, 2 workers, ${label}, not pinned: req/s as a ratio to ${baseline.name}`,
  baseline,
  candidates,
  load,
  targets: ([thread, process, reuseport], base) => [
    ratioTarget(
      `2 workers, ${label}, thread placement ÷ ${baseline.name}`,
      thread!,
      1.0,
      base.contender.missing,
    ),
    ratioTarget(
      `2 workers, ${label}, process placement ÷ ${baseline.name}`,
      process!,
      1.0,
      base.contender.missing,
    ),
    ...(reuseportAtLeast === undefined
      ? []
      : [
          ratioTarget(
            `2 workers, ${label}, reuseport ÷ ${baseline.name}`,
            reuseport!,
            reuseportAtLeast,
            base.contender.missing,
          ),
        ]),
  ],
})

const comparisons = [
  comparison({ pin: false, close: false }, 'keep-alive'),
  comparison({ pin: false, close: true }, '`Connection: close`', 1.3),
]

export const twoWorkers: Scenario = {
  name: 'cluster',
  title: 'Two workers, not pinned, against node:cluster (and PM2)',
  estimate: (s) => comparisons.reduce((sum, c) => sum + comparisonSeconds(s, c), 0),
  run: async (settings, progress) => {
    const findings = []
    for (const c of comparisons) findings.push(await compareTable(settings, c, progress))
    return findings
  },
}
