/**
 * What a fault of `npm run chaos` is: a scenario of the shared suite runner (spec/bench/suite.ts)
 * whose findings count what users would see go wrong while the fault repeats under load, and
 * whose bounds say whether troupe held.
 */
import type { Scenario, Target } from '../bench/scenarios/scenario.ts'

export interface ChaosSettings {
  /** The short form (CI): fewer repetitions, shorter loads, troupe only (no PM2/gunicorn columns). */
  readonly short: boolean
}

export type Fault = Scenario<ChaosSettings>

/**
 * A bound on time (a recovery within 300 ms, a 503 within 10 ms) rather than on what is lost:
 * in the short form, which CI runs beside the test suite on a loaded 2-core machine, these are
 * reported but do not fail the run. Bounds on failed requests, exit reasons and leftovers
 * always do.
 */
export const timing = (target: Target): Target => ({ ...target, what: `${target.what} (timing)` })
export const isTiming = (target: Target) => target.what.endsWith('(timing)')
