/**
 * The measuring loop every req/s scenario shares: a baseline and its candidates take turns
 * (baseline, A, B…, then again, for `rounds` rounds), each on a fresh server that is warmed up
 * before its measured wrk run, and each candidate's ratio is taken to the baseline of its own
 * round. With `pin`, every server thread is on CPU 1 and wrk on CPU 0 (MEASURE's method).
 */
import {
  errorsOf,
  fixed,
  type Launched,
  launch,
  median,
  show,
  spread,
  stop,
  unpinned,
  type WrkRun,
  whole,
  wrk,
} from '../runner.ts'
import type { Finding, Settings, Target } from './scenario.ts'

export interface Contender {
  readonly name: string
  /** The server's command line (unpinned; the loop pins it when asked). */
  readonly argv: readonly string[]
  /** Why it cannot run here (a tool not installed): it is skipped and the table says why. */
  readonly missing?: string | undefined
  /** Its ready line, with the port as the first group; default: `… serving … on 127.0.0.1:PORT`. */
  readonly ready?: RegExp
}

export interface Load {
  readonly pin: boolean
  /** `Connection: close` on every request (a new connection each). */
  readonly close: boolean
  readonly path?: string
  readonly connections?: number
}

export interface Measured {
  readonly contender: Contender
  readonly runs: WrkRun[]
  /** Candidate req/s ÷ the baseline's of the same round (empty for the baseline). */
  readonly ratios: number[]
  readonly problems: string[]
}

const wrkArgv = (port: number, seconds: number, load: Load, connections: number): string[] => [
  ...(load.pin ? ['taskset', '-c', '0'] : []),
  'wrk',
  '-t1',
  `-c${connections}`,
  `-d${seconds}s`,
  '--latency',
  ...(load.close ? ['-H', 'Connection: close'] : []),
  `http://127.0.0.1:${port}${load.path ?? '/'}`,
]

/** Seconds one fresh-server run takes (start, warm-up, measure, stop), roughly. */
export const runSeconds = (settings: Settings) => settings.warmup + settings.duration + 2

/** One run: a fresh server, warmed up, measured, stopped; problems are noted, not thrown. */
export const measureOnce = async (
  contender: Contender,
  settings: Settings,
  load: Load,
  commands: Set<string>,
  problems: string[],
): Promise<WrkRun | undefined> => {
  const argv = load.pin ? ['taskset', '-c', '1', ...contender.argv] : [...contender.argv]
  const connections = load.connections ?? settings.connections
  commands.add(show(argv))
  let server: Launched | undefined
  try {
    server = await launch(argv, 60_000, contender.ready)
    if (settings.warmup > 0)
      await wrk(wrkArgv(server.port, settings.warmup, load, connections), settings.warmup)
    if (load.pin) {
      const bad = unpinned(server.pid, '1')
      if (bad.length > 0) problems.push(`${bad.length} server thread(s) not pinned to CPU 1`)
    }
    const argvWrk = wrkArgv(server.port, settings.duration, load, connections)
    commands.add(show(argvWrk).replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT'))
    const run = await wrk(argvWrk, settings.duration)
    if (errorsOf(run) > 0)
      problems.push(`${run.socketErrors} socket errors, ${run.non2xx} non-2xx of ${run.requests}`)
    return run
  } catch (error) {
    problems.push(`run failed: ${(error as Error).message.split('\n')[0]}`)
    return undefined
  } finally {
    if (server) await stop(server, contender.name)
  }
}

/** Alternating rounds of the baseline and every candidate that can run here. */
export const alternate = async (
  settings: Settings,
  baseline: Contender,
  candidates: readonly Contender[],
  load: Load,
  progress: (line: string) => void,
): Promise<{ baseline: Measured; candidates: Measured[]; commands: string[] }> => {
  const commands = new Set<string>()
  const make = (contender: Contender): Measured => ({ contender, runs: [], ratios: [], problems: [] })
  const base = make(baseline)
  const cands = candidates.map(make)
  const runnable = cands.filter((c) => !c.contender.missing)
  for (let round = 1; round <= settings.rounds; round++) {
    if (baseline.missing) break
    const b = await measureOnce(baseline, settings, load, commands, base.problems)
    if (b) base.runs.push(b)
    for (const cand of runnable) {
      const run = await measureOnce(cand.contender, settings, load, commands, cand.problems)
      if (run) cand.runs.push(run)
      if (run && b) cand.ratios.push(run.rps / b.rps)
      progress(
        `round ${round}/${settings.rounds} ${cand.contender.name}: ${whole(run?.rps ?? Number.NaN)} req/s, ` +
          `${baseline.name} ${whole(b?.rps ?? Number.NaN)} → ${fixed((run?.rps ?? Number.NaN) / (b?.rps ?? Number.NaN), 2)}×`,
      )
    }
  }
  return { baseline: base, candidates: cands, commands: [...commands] }
}

/**
 * A table row per contender: req/s, ratio (median, min–max), latency, errors. `ratioColumn`
 * names the ratio when it is not candidate ÷ baseline (see `inverted`).
 */
export const rateRow = (m: Measured, isBaseline: boolean, ratioColumn = 'ratio'): Record<string, string> => {
  const rps = m.runs.map((r) => r.rps)
  return {
    server: m.contender.name,
    'req/s (median)': m.contender.missing ? '—' : whole(median(rps)),
    [ratioColumn]: isBaseline ? '1' : fixed(median(m.ratios), 2),
    'min–max': isBaseline ? '' : spread(m.ratios, 2),
    'p50 ms': fixed(median(m.runs.map((r) => r.p50)), 2),
    'p99 ms': fixed(median(m.runs.map((r) => r.p99)), 2),
    errors: String(m.runs.reduce((a, r) => a + errorsOf(r), 0)),
    note: m.contender.missing ?? m.problems.join('; '),
  }
}

/** A ratio target: met when the median ratio of every round reaches `at least`. */
export const ratioTarget = (what: string, m: Measured, atLeast: number, baselineMissing?: string) => {
  const ratio = median(m.ratios)
  const why =
    baselineMissing ??
    m.contender.missing ??
    (Number.isFinite(ratio) ? undefined : (m.problems[0] ?? 'no run'))
  return {
    what,
    measured: Number.isFinite(ratio) ? `${fixed(ratio, 2)}× (${spread(m.ratios, 2)})` : '—',
    bound: `≥ ${atLeast}×`,
    met: why || !Number.isFinite(ratio) ? undefined : ratio >= atLeast,
    ...(why ? { note: why } : {}),
  }
}

/**
 * A candidate's runs with each round's ratio turned over: baseline ÷ candidate. One troupe
 * baseline measured against several peers gives "troupe ÷ each peer" this way, paired round by
 * round, in one series of rounds instead of one per peer.
 */
export const inverted = (m: Measured): Measured => ({ ...m, ratios: m.ratios.map((r) => 1 / r) })

/** How a table's figures were taken, for its `method` line. */
export const methodOf = (settings: Settings, load: Load, ratio: string): string =>
  `${
    load.pin
      ? 'Server pinned to CPU 1 (all its threads and processes), `wrk` on CPU 0'
      : 'Not pinned: the server and `wrk` share the cores'
  }, \`wrk -t1 -c${load.connections ?? settings.connections}\`${load.close ? ' with `Connection: close`' : ', keep-alive'}, ` +
  `${settings.duration} s runs after ${settings.warmup} s warm-up on a fresh server, ${settings.rounds} rounds ` +
  `(baseline then each candidate); ratio = ${ratio} of the same round, median (min–max).`

/** One table: a baseline and its candidates under one load, and the targets it decides. */
export interface Comparison {
  readonly title: string
  readonly baseline: Contender
  readonly candidates: readonly Contender[]
  readonly load: Load
  /**
   * The ratio shown and targeted is baseline ÷ candidate (troupe as the baseline, peers as the
   * candidates) instead of candidate ÷ baseline.
   */
  readonly inverse?: boolean
  /** Its targets, from the candidates measured (in the order given; ratios as shown) and the baseline. */
  readonly targets: (candidates: readonly Measured[], baseline: Measured) => Target[]
}

/** Seconds a comparison takes, roughly. */
export const comparisonSeconds = (settings: Settings, comparison: Pick<Comparison, 'candidates'>) =>
  settings.rounds * (1 + comparison.candidates.length) * runSeconds(settings)

/** Measures a comparison in alternating rounds and makes its table. */
export const compareTable = async (
  settings: Settings,
  comparison: Comparison,
  progress: (line: string) => void,
): Promise<Finding> => {
  const { baseline, candidates, commands } = await alternate(
    settings,
    comparison.baseline,
    comparison.candidates,
    comparison.load,
    progress,
  )
  const name = comparison.baseline.name
  const shown = comparison.inverse ? candidates.map(inverted) : candidates
  const column = comparison.inverse ? `${name} ÷ it` : `÷ ${name}`
  return {
    title: comparison.title,
    method: methodOf(
      settings,
      comparison.load,
      comparison.inverse ? `${name} req/s ÷ the row's req/s` : `the row's req/s ÷ ${name}'s`,
    ),
    rows: [rateRow(baseline, true, column), ...shown.map((m) => rateRow(m, false, column))],
    targets: comparison.targets(shown, baseline),
    commands,
  }
}
