import { InvalidOptionError } from './errors.ts'

export interface BackoffOptions {
  /** First restart delay, ms. */
  readonly min?: number
  /** Ceiling of the delay, ms. */
  readonly max?: number
  /** Growth per consecutive restart. */
  readonly factor?: number
  /** Spread around the delay: 0.2 means ±20 %, so children restarted together do not stampede. */
  readonly jitter?: number
  /** A child that ran this long (ms) before exiting counts as stable: its next restart starts from `min` again. */
  readonly resetAfter?: number
}

export const backoffDefaults = {
  min: 100, // 100 ms
  max: 5_000, // 5 s
  factor: 2,
  jitter: 0.2,
  resetAfter: 10_000, // 10 s
} as const satisfies Required<BackoffOptions>

export const resolveBackoff = (options: BackoffOptions = {}, path = 'backoff'): Required<BackoffOptions> => {
  const out = { ...backoffDefaults, ...options }
  for (const key of ['min', 'max', 'resetAfter'] as const) {
    if (!Number.isFinite(out[key]) || out[key] < 0)
      throw new InvalidOptionError(`${path}.${key} must be a non-negative number of milliseconds`)
  }
  if (!(out.factor >= 1)) throw new InvalidOptionError(`${path}.factor must be a number >= 1`)
  if (!(out.jitter >= 0 && out.jitter < 1)) throw new InvalidOptionError(`${path}.jitter must be in [0, 1)`)
  if (out.max < out.min) throw new InvalidOptionError(`${path}.max must be >= ${path}.min`)
  return out
}

/** Delay before restart number `attempt` (0-based): min·factor^attempt capped at max, then jittered. */
export const backoffDelay = (options: Required<BackoffOptions>, attempt: number, random: number): number => {
  const base = Math.min(options.max, options.min * options.factor ** attempt)
  const spread = base * options.jitter * (random * 2 - 1)
  return Math.max(0, Math.round(base + spread))
}
