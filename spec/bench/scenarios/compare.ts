/**
 * The measuring loop every req/s scenario shares. In each of `rounds` rounds a fresh baseline
 * server is started and warmed up, then each candidate on a fresh server of its own beside it;
 * the two are measured in alternating one-second slices (candidate, baseline, baseline,
 * candidate…), so both see the same moments of a machine whose speed drifts by a sixth from one
 * run to the next. A candidate's ratio is its requests over the baseline's in those slices.
 * With `pin`, every server thread is on CPU 1 and wrk on CPU 0 (MEASURE's method).
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
  /**
   * Measured in one piece per server rather than in slices: a handler slow enough that the
   * requests a slice leaves in flight would go on loading the machine into the other's slice.
   */
  readonly whole?: boolean
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

/** Seconds a server costs besides its measured slices: start, warm-up, stop, roughly. */
export const serverSeconds = (settings: Settings) => settings.warmup + 2

/**
 * A measured run is cut into slices of this many seconds, the candidate's and the baseline's
 * taken by turns, so that both see the same moments of a noisy machine.
 */
const SLICE_SECONDS = 1

/** A fresh server, warmed up; problems are noted, not thrown. */
const startWarm = async (
  contender: Contender,
  settings: Settings,
  load: Load,
  commands: Set<string>,
  problems: string[],
): Promise<Launched | undefined> => {
  const argv = load.pin ? ['taskset', '-c', '1', ...contender.argv] : [...contender.argv]
  commands.add(show(argv))
  let server: Launched | undefined
  try {
    server = await launch(argv, 60_000, contender.ready)
    if (settings.warmup > 0)
      await wrk(
        wrkArgv(server.port, settings.warmup, load, load.connections ?? settings.connections),
        settings.warmup,
      )
    if (load.pin) {
      const bad = unpinned(server.pid, '1')
      if (bad.length > 0) problems.push(`${bad.length} server thread(s) not pinned to CPU 1`)
    }
    return server
  } catch (error) {
    problems.push(`run failed: ${(error as Error).message.split('\n')[0]}`)
    if (server) await stop(server, contender.name)
    return undefined
  }
}

/** The slices of one server as one run: its requests over its time; latency, the slices' median. */
const combined = (slices: readonly WrkRun[], seconds: number): WrkRun => ({
  rps: slices.reduce((a, r) => a + r.requests, 0) / (slices.length * seconds),
  requests: slices.reduce((a, r) => a + r.requests, 0),
  p50: median(slices.map((r) => r.p50)),
  p99: median(slices.map((r) => r.p99)),
  socketErrors: slices.reduce((a, r) => a + r.socketErrors, 0),
  non2xx: slices.reduce((a, r) => a + r.non2xx, 0),
  output: slices.map((r) => r.output).join('\n'),
})

/**
 * The baseline's server and a candidate's, both warm, measured in turns of one slice each
 * (candidate first, then baseline first, and so on) for `settings.duration` seconds each.
 */
const measurePair = async (
  servers: readonly [Launched, Launched],
  settings: Settings,
  load: Load,
  commands: Set<string>,
): Promise<[WrkRun, WrkRun]> => {
  const connections = load.connections ?? settings.connections
  const slices = load.whole ? 1 : Math.max(1, Math.round(settings.duration / SLICE_SECONDS))
  const seconds = settings.duration / slices
  const runs: [WrkRun[], WrkRun[]] = [[], []]
  for (let slice = 0; slice < slices; slice++) {
    const order = slice % 2 === 0 ? [0, 1] : [1, 0]
    for (const i of order) {
      const argv = wrkArgv(servers[i]!.port, seconds, load, connections)
      commands.add(show(argv).replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT'))
      runs[i]!.push(await wrk(argv, seconds))
    }
  }
  return [combined(runs[0], seconds), combined(runs[1], seconds)]
}

const noteErrors = (run: WrkRun, problems: string[]) => {
  if (errorsOf(run) > 0)
    problems.push(`${run.socketErrors} socket errors, ${run.non2xx} non-2xx of ${run.requests}`)
}

/**
 * Rounds: in each, a fresh baseline server, and a fresh server per candidate measured beside
 * it in alternating slices; each candidate's ratio is to the baseline's slices taken with its own.
 */
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
    const baseServer = await startWarm(baseline, settings, load, commands, base.problems)
    if (!baseServer) continue
    try {
      for (const cand of runnable) {
        const server = await startWarm(cand.contender, settings, load, commands, cand.problems)
        let pair: [WrkRun, WrkRun] | undefined
        if (server)
          try {
            pair = await measurePair([server, baseServer], settings, load, commands)
          } catch (error) {
            cand.problems.push(`run failed: ${(error as Error).message.split('\n')[0]}`)
          } finally {
            await stop(server, cand.contender.name)
          }
        if (pair) {
          const [run, b] = pair
          noteErrors(run, cand.problems)
          noteErrors(b, base.problems)
          cand.runs.push(run)
          base.runs.push(b)
          cand.ratios.push(run.rps / b.rps)
        }
        progress(
          `round ${round}/${settings.rounds} ${cand.contender.name}: ${whole(pair?.[0].rps ?? Number.NaN)} req/s, ` +
            `${baseline.name} ${whole(pair?.[1].rps ?? Number.NaN)} → ${fixed((pair?.[0].rps ?? Number.NaN) / (pair?.[1].rps ?? Number.NaN), 2)}×`,
        )
      }
    } finally {
      await stop(baseServer, baseline.name)
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
  `${settings.rounds} rounds, each on fresh servers warmed up for ${settings.warmup} s: the baseline's, and each ` +
  `candidate's beside it, measured ${settings.duration} s each ${load.whole ? 'in one piece (candidate, then baseline)' : `in alternating ${SLICE_SECONDS} s slices (candidate, baseline, baseline, candidate…)`}; ` +
  `ratio = ${ratio} ${load.whole ? 'measured with it' : 'over the slices taken with it'}, median (min–max).`

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
  settings.rounds *
  (serverSeconds(settings) + comparison.candidates.length * (serverSeconds(settings) + 2 * settings.duration))

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
