/**
 * `npm run bench`: every scenario of the suite (spec/bench/scenarios/), one after another,
 * with an estimate before and progress during; each prints its table and the targets it
 * decides, and the whole run is written to BENCHMARKS.md (date, Node, CPU, command, tables).
 *
 *   npm run bench                      full run (5 s runs, 2 s warm-up, 3 rounds), writes BENCHMARKS.md
 *   npm run bench -- --quick           short runs (1 s), one round, under 3 minutes; writes nothing unless --out
 *   (wrk takes whole seconds: durations are rounded)
 *   npm run bench -- --only fetch,node one or more scenarios by name
 *   --rounds N --duration S --warmup S --connections N --out FILE
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { root } from './runner.ts'
import { scenarios } from './scenarios/index.ts'
import type { Settings } from './scenarios/scenario.ts'
import { choose, runSuite } from './suite.ts'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  console.log(
    `Usage: npm run bench -- [--quick] [--only ${scenarios.map((s) => s.name).join(',')}]\n` +
      '         [--rounds N] [--duration S] [--warmup S] [--connections N] [--out FILE]',
  )
  process.exit(0)
}
const number = (name: string, given: string | undefined, fallback: number) => {
  if (given === undefined) return fallback
  const n = Number(given)
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a number >= 0 (got ${given})`)
    process.exit(2)
  }
  return n
}
const quick = values.quick === true
const settings: Settings = {
  quick,
  duration: Math.max(1, Math.round(number('duration', values.duration, quick ? 1 : 5))),
  warmup: Math.round(number('warmup', values.warmup, quick ? 1 : 2)),
  rounds: Math.max(1, number('rounds', values.rounds, quick ? 1 : 3)),
  connections: number('connections', values.connections, 50),
}
const chosen = choose(scenarios, values.only)

await runSuite({
  label: 'troupe bench',
  scenarios: chosen,
  settings,
  described: `${settings.duration} s runs after ${settings.warmup} s warm-up, ${settings.rounds} rounds, ${settings.connections} connections`,
  ...(values.out || !(quick || values.only) ? { out: values.out ?? join(root, 'BENCHMARKS.md') } : {}),
  heading: 'Benchmarks',
  preface:
    'Every figure is from this one run; ratios are to a baseline measured in the same run, moments apart (spec/bench/README.md says how).',
  command: 'npm run bench',
})
