/** The latency summary the stats show, from the workers' bucket counts. */
import { expect, it } from 'vitest'
import { LATENCY_BUCKETS_MS } from '../actors/http-worker/worker-protocol.ts'
import { emptyLatencyCounts, latencyQuantile, latencySummary } from '../runtime/master/observe/latency.ts'

const counts = (entries: Record<number, number>): number[] => {
  const all = emptyLatencyCounts()
  for (const [bucket, n] of Object.entries(entries)) all[Number(bucket)] = n
  return all
}

it('estimates a quantile inside its bucket, linearly', () => {
  // Buckets 2 (2.5–5 ms) and 3 (5–10 ms), ten requests each.
  const c = counts({ 2: 10, 3: 10 })
  expect(latencyQuantile(c, 0.5)).toBe(5)
  expect(latencyQuantile(c, 0.25)).toBe(3.75)
  expect(latencyQuantile(c, 1)).toBe(10)
})

it('past the last bound says the last bound; with nothing counted, zero', () => {
  expect(latencyQuantile(counts({ [LATENCY_BUCKETS_MS.length]: 3 }), 0.99)).toBe(LATENCY_BUCKETS_MS.at(-1))
  expect(latencySummary(emptyLatencyCounts(), 0)).toEqual({
    count: 0,
    sumMs: 0,
    meanMs: 0,
    p50Ms: 0,
    p99Ms: 0,
    counts: emptyLatencyCounts(),
  })
})

it('summarises count, sum and mean', () => {
  const summary = latencySummary(counts({ 0: 3, 4: 1 }), 40)
  expect(summary).toMatchObject({ count: 4, sumMs: 40, meanMs: 10, p50Ms: 0.667 })
  expect(summary.p99Ms).toBeGreaterThan(10)
  expect(summary.p99Ms).toBeLessThanOrEqual(25)
})
