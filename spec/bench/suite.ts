/**
 * What `npm run bench` and `npm run chaos` share: run the chosen scenarios one after another
 * with an estimate before and progress during, print each finding's table and the bounds it
 * decides, a summary of all of them at the end, and (on a full run) write the whole run to a
 * markdown file with the date, Node, CPU and the command.
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, release } from 'node:os'
import { join } from 'node:path'
import { flags, root } from './runner.ts'
import type { Finding, Scenario, Target } from './scenarios/scenario.ts'

export const minutes = (seconds: number) =>
  seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`

export const markdownTable = (rows: ReadonlyArray<Record<string, string>>): string => {
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

/** Picks the scenarios `--only` names (all without it); an unknown name ends the process (2). */
export const choose = <S>(scenarios: readonly Scenario<S>[], only: string | undefined): Scenario<S>[] => {
  const wanted = only?.split(',').map((s) => s.trim())
  const unknown = wanted?.filter((name) => !scenarios.some((s) => s.name === name)) ?? []
  if (unknown.length > 0) {
    console.error(
      `no scenario named ${unknown.join(', ')}; there are: ${scenarios.map((s) => s.name).join(', ')}`,
    )
    process.exit(2)
  }
  return wanted ? scenarios.filter((s) => wanted.includes(s.name)) : [...scenarios]
}

export interface SuiteRun<S> {
  /** `troupe bench`, `troupe chaos`: the first words of the opening line. */
  readonly label: string
  readonly scenarios: readonly Scenario<S>[]
  readonly settings: S
  /** What the settings are, for the opening line. */
  readonly described: string
  /** Where the whole run is written (markdown), if anywhere. */
  readonly out?: string
  /** The file's heading, and the sentence under it that says how its figures were taken. */
  readonly heading: string
  readonly preface: string
  /** `npm run bench`, `npm run chaos`: the command the file says wrote it. */
  readonly command: string
}

/** Runs the scenarios and reports; resolves to every bound they decided. */
export const runSuite = async <S>(run: SuiteRun<S>): Promise<Target[]> => {
  const { scenarios: chosen, settings } = run
  const total = chosen.reduce((sum, s) => sum + s.estimate(settings), 0)
  const began = Date.now()
  console.log(
    `${run.label}: ${chosen.length} scenario(s), about ${minutes(total)} (${run.described}); ` +
      'Ctrl-C stops it and every server it started',
  )
  const sections: Array<{ scenario: Scenario<S>; findings: Finding[] }> = []
  let spent = 0
  for (const [i, scenario] of chosen.entries()) {
    const estimate = scenario.estimate(settings)
    console.log(
      `\n[${i + 1}/${chosen.length}] ${scenario.title} (about ${minutes(estimate)}; ${minutes(total - spent)} left in all)`,
    )
    let findings: Finding[]
    try {
      findings = await scenario.run(settings, (line) => process.stderr.write(`  ${line}\n`))
    } catch (error) {
      flags.push(`${scenario.name}: failed: ${(error as Error).stack ?? String(error)}`)
      findings = []
    }
    spent += estimate
    sections.push({ scenario, findings })
    for (const f of findings) {
      console.log(`\n${f.title}\n${f.method}\n`)
      console.log(markdownTable(f.rows))
      if (f.targets.length > 0) console.log(markdownTable(targetRows(f.targets)))
    }
  }

  const allTargets = sections.flatMap((s) => s.findings.flatMap((f) => f.targets))
  const took = minutes((Date.now() - began) / 1_000)
  console.log(`\nBounds (${took} in all)\n`)
  console.log(markdownTable(targetRows(allTargets)))
  if (flags.length > 0) console.log(`Flags:\n${flags.map((f) => `- ${f}`).join('\n')}`)

  if (run.out) {
    const cpu = cpus()
    const args = process.argv.slice(2)
    const command = `${run.command}${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`
    const text = [
      `# ${run.heading}`,
      '',
      `Written by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
        `in ${took}: Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'} ×${cpu.length}, ` +
        `Linux ${release()}. ${run.preface}`,
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
    writeFileSync(run.out, text)
    // As the repository's formatter lays tables out, so that a written report passes `npm run lint`.
    spawnSync(
      process.execPath,
      [join(root, 'node_modules/@biomejs/biome/bin/biome'), 'format', '--write', run.out],
      {
        stdio: 'ignore',
      },
    )
    console.log(`\nwrote ${run.out}`)
  }
  return allTargets
}
