/**
 * `npm run bench`: every scenario of the suite (spec/bench/scenarios/), one after another,
 * with an estimate before and progress during; each prints its table and the targets it
 * decides, and the whole run is written to BENCHMARKS.md (date, Node, CPU, command, tables).
 *
 *   npm run bench                      full run (5 s runs, 2 s warm-up, 3 rounds), writes BENCHMARKS.md
 *   npm run bench -- --quick           short runs (1 s), under 3 minutes; writes nothing unless --out
 *   (wrk takes whole seconds: durations are rounded)
 *   npm run bench -- --only fetch,node one or more scenarios by name
 *   --rounds N --duration S --warmup S --connections N --out FILE
 */
import { writeFileSync } from 'node:fs'
import { cpus, release } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { flags, root } from './runner.ts'
import { scenarios } from './scenarios/index.ts'
import type { Finding, Scenario, Settings, Target } from './scenarios/scenario.ts'

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
  rounds: Math.max(1, number('rounds', values.rounds, 3)),
  connections: number('connections', values.connections, 50),
}
const wanted = values.only?.split(',').map((s) => s.trim())
const unknown = wanted?.filter((name) => !scenarios.some((s) => s.name === name)) ?? []
if (unknown.length > 0) {
  console.error(
    `no scenario named ${unknown.join(', ')}; there are: ${scenarios.map((s) => s.name).join(', ')}`,
  )
  process.exit(2)
}
const chosen: Scenario[] = wanted ? scenarios.filter((s) => wanted.includes(s.name)) : [...scenarios]

const minutes = (seconds: number) =>
  seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`
const total = chosen.reduce((sum, s) => sum + s.estimate(settings), 0)
const began = Date.now()
console.log(
  `troupe bench: ${chosen.length} scenario(s), about ${minutes(total)} ` +
    `(${settings.duration} s runs after ${settings.warmup} s warm-up, ${settings.rounds} rounds, ` +
    `${settings.connections} connections); Ctrl-C stops it and every server it started`,
)

const markdownTable = (rows: ReadonlyArray<Record<string, string>>): string => {
  if (rows.length === 0) return '(no rows)\n'
  const columns = Object.keys(rows[0]!)
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [
    line(columns),
    line(columns.map(() => '---')),
    ...rows.map((r) => line(columns.map((c) => r[c] ?? ''))),
  ]
    .join('\n')
    .concat('\n')
}
const verdict = (t: Target) => (t.met === undefined ? 'not measured' : t.met ? 'met' : 'MISSED')
const targetRows = (targets: readonly Target[]) =>
  targets.map((t) => ({
    target: t.what,
    measured: t.measured,
    bound: t.bound,
    verdict: verdict(t),
    note: t.note ?? '',
  }))

const sections: Array<{ scenario: Scenario; findings: Finding[]; seconds: number }> = []
let spent = 0
for (const [i, scenario] of chosen.entries()) {
  const estimate = scenario.estimate(settings)
  console.log(
    `\n[${i + 1}/${chosen.length}] ${scenario.title} (about ${minutes(estimate)}; ${minutes(total - spent)} left in all)`,
  )
  const t0 = Date.now()
  let findings: Finding[]
  try {
    findings = await scenario.run(settings, (line) => process.stderr.write(`  ${line}\n`))
  } catch (error) {
    flags.push(`${scenario.name}: failed: ${(error as Error).stack ?? String(error)}`)
    findings = []
  }
  const seconds = (Date.now() - t0) / 1_000
  spent += estimate
  sections.push({ scenario, findings, seconds })
  for (const f of findings) {
    console.log(`\n${f.title}\n${f.method}\n`)
    console.log(markdownTable(f.rows))
    if (f.targets.length > 0) console.log(markdownTable(targetRows(f.targets)))
  }
}

const allTargets = sections.flatMap((s) => s.findings.flatMap((f) => f.targets))
console.log(`\nTargets (${minutes((Date.now() - began) / 1_000)} in all)\n`)
console.log(markdownTable(targetRows(allTargets)))
if (flags.length > 0) console.log(`Flags:\n${flags.map((f) => `- ${f}`).join('\n')}`)

const out = values.out ?? (quick || wanted ? undefined : join(root, 'BENCHMARKS.md'))
if (out) {
  const cpu = cpus()
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  const text = [
    '# Benchmarks',
    '',
    `Written by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `in ${minutes((Date.now() - began) / 1_000)}: Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'} ×${cpu.length}, ` +
      `Linux ${release()}. Every figure is from this one run; ratios are to a baseline measured in the ` +
      'same run, moments apart (spec/bench/README.md says how).',
    '',
    '## Targets',
    '',
    markdownTable(targetRows(allTargets)),
    ...sections.flatMap(({ scenario, findings }) => [
      `## ${scenario.title}`,
      '',
      ...findings.flatMap((f) => [
        `### ${f.title}`,
        '',
        f.method,
        '',
        markdownTable(f.rows),
        'Commands:',
        '',
        ...f.commands.map((c) => `    ${c}`),
        '',
      ]),
    ]),
    ...(flags.length > 0 ? ['## Flags', '', ...flags.map((f) => `- ${f.split('\n')[0]}`), ''] : []),
  ].join('\n')
  writeFileSync(out, text)
  console.log(`\nwrote ${out}`)
}
