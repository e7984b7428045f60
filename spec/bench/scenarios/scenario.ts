/**
 * What a scenario of `npm run bench` is: a name, how long it will take, and a run that
 * measures its contenders and says, per target, what was measured against what bound.
 */

/** The suite's settings, from its command line (`--quick` picks the short ones). */
export interface Settings {
  readonly quick: boolean
  /** Seconds of each measured load run. */
  readonly duration: number
  /** Seconds of load before each measured run, on the same fresh server. */
  readonly warmup: number
  /** Alternating rounds: baseline, candidate, baseline, candidate… */
  readonly rounds: number
  /** wrk connections. */
  readonly connections: number
}

/** One bar from the issue, and where this run landed against it. */
export interface Target {
  readonly what: string
  /** The figure measured (a ratio, ms, MB…), as printed. */
  readonly measured: string
  /** The bar, as printed (`≥ 1.0×`, `≤ 50 ms`). */
  readonly bound: string
  /** undefined: not measured (a baseline was missing); the reason is in `note`. */
  readonly met: boolean | undefined
  readonly note?: string
}

/** A table of figures and the targets they decide. */
export interface Finding {
  readonly title: string
  readonly rows: ReadonlyArray<Record<string, string>>
  readonly targets: readonly Target[]
  /** How the figures were taken: pinning, load tool, what a ratio divides by. */
  readonly method: string
  /** Exact commands, for rerunning one by hand. */
  readonly commands: readonly string[]
}

/** A scenario of `npm run bench` (S: its Settings) or of `npm run chaos` (spec/chaos/). */
export interface Scenario<S = Settings> {
  readonly name: string
  readonly title: string
  /** Seconds it will take with these settings (for the estimate printed before the run). */
  estimate(settings: S): number
  run(settings: S, progress: (line: string) => void): Promise<Finding[]>
}
