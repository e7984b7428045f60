/**
 * The workers' latency histograms (counts per LATENCY_BUCKETS_MS bucket, not cumulative) as
 * the stats show them: count, mean, and p50/p99 estimated within their bucket.
 */
import { LATENCY_BUCKETS_MS } from '../../../actors/http-worker/worker-protocol.ts'
import type { LatencySummary, StatusCounts } from '../control/api.ts'

/** One count per bucket, the last one past the last bound. */
export const emptyLatencyCounts = (): number[] => new Array(LATENCY_BUCKETS_MS.length + 1).fill(0)

/**
 * The `q` quantile (0–1), interpolated linearly inside the bucket it falls in, as Prometheus'
 * histogram_quantile does. Past the last bound the histogram knows no more: the estimate is
 * `overflow` (default: that bound; `troupe top` passes Infinity to show `>10s`).
 */
export const latencyQuantile = (
  counts: readonly number[],
  q: number,
  overflow: number = LATENCY_BUCKETS_MS.at(-1)!,
): number => {
  const total = counts.reduce((a, b) => a + b, 0)
  if (total === 0) return 0
  const rank = q * total
  let below = 0
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!
    if (n > 0 && below + n >= rank) {
      const upper = LATENCY_BUCKETS_MS[i]
      if (upper === undefined) return overflow
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!
      return lower + ((upper - lower) * (rank - below)) / n
    }
    below += n
  }
  return overflow
}

const round = (ms: number): number => Math.round(ms * 1_000) / 1_000

export const latencySummary = (counts: readonly number[], sumMs: number): LatencySummary => {
  const count = counts.reduce((a, b) => a + b, 0)
  return {
    count,
    sumMs: round(sumMs),
    meanMs: count === 0 ? 0 : round(sumMs / count),
    p50Ms: round(latencyQuantile(counts, 0.5)),
    p99Ms: round(latencyQuantile(counts, 0.99)),
    counts: [...counts],
  }
}

/** A worker's `status` tuple ([1xx … 5xx]) as named counts. */
export const statusCounts = (status: readonly number[]): StatusCounts => ({
  '1xx': status[0] ?? 0,
  '2xx': status[1] ?? 0,
  '3xx': status[2] ?? 0,
  '4xx': status[3] ?? 0,
  '5xx': status[4] ?? 0,
})
