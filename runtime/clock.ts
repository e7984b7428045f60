/**
 * Time as the supervisor sees it. Injected so that the restart sequence (backoff, intensity
 * windows, stable-uptime resets) can be tested by counting rather than by sleeping.
 */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /** In [0, 1); drives backoff jitter. */
  random(): number
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  random: Math.random,
}
