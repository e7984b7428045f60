/**
 * The dashboard's samples: what changed between two stats snapshots, as rates and interval
 * latencies (the same diff `troupe top` shows, from ../interval.ts), in shapes that cross JSON.
 */
import { LATENCY_BUCKETS_MS } from '../../../../actors/http-worker/worker-protocol.ts'
import type { Stats, StatusCounts } from '../../control/api.ts'
import { type Interval, quantileMs, sameIncarnation, type WorkerDelta } from '../interval.ts'
import type { AcceptorSample, Sample } from './feed-types.ts'

/** JSON has no Infinity: a quantile past the last bound is sent as just past it. */
const PAST_LAST_BOUND_MS = LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]! + 1

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

const quantile = (counts: readonly number[], q: number): number | null => {
  const ms = quantileMs(counts, q)
  return ms === null ? null : Number.isFinite(ms) ? Math.round(ms * 1_000) / 1_000 : PAST_LAST_BOUND_MS
}

/**
 * Status classes over the interval. Counters go back to zero when a worker restarts: a class
 * that went down counts from zero, as the interval's requests do.
 */
const statusDelta = (previous: StatusCounts | undefined, current: StatusCounts): StatusCounts => {
  const delta = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }
  for (const c of CLASSES) {
    const d = current[c] - (previous?.[c] ?? 0)
    delta[c] = d < 0 ? current[c] : d
  }
  return delta
}

const sampleOf = (at: number, seconds: number, delta: WorkerDelta, status: StatusCounts): Sample => ({
  at,
  rps: Math.round((delta.requests / seconds) * 10) / 10,
  p50Ms: quantile(delta.latency, 0.5),
  p99Ms: quantile(delta.latency, 0.99),
  status,
})

/** The whole master's sample and each worker's, for the interval `previous` → `current`. */
export const samplesOf = (
  previous: Stats,
  current: Stats,
  interval: Interval,
): { readonly total: Sample; readonly workers: Record<string, Sample> } => {
  const before = new Map(previous.workers.map((w) => [w.id, w]))
  const workers: Record<string, Sample> = {}
  for (const worker of current.workers) {
    const delta = interval.workers.get(worker.id)
    if (!delta) continue
    const was = before.get(worker.id)
    const status = statusDelta(was && sameIncarnation(was, worker) ? was.status : undefined, worker.status)
    workers[worker.id] = sampleOf(current.at, interval.seconds, delta, status)
  }
  const total = sampleOf(
    current.at,
    interval.seconds,
    interval.total,
    statusDelta(previous.totals.status, current.totals.status),
  )
  return { total, workers }
}

/** The acceptor's queue now and its refusals over the interval, over every handoff listener. */
export const acceptorSampleOf = (previous: Stats | null, current: Stats): AcceptorSample => {
  const refused = (stats: Stats | null) =>
    (stats?.listeners ?? []).reduce((n, listener) => n + (listener.refused ?? 0), 0)
  const now = refused(current)
  const was = refused(previous)
  return {
    at: current.at,
    queued: current.listeners.reduce((n, listener) => n + listener.queued, 0),
    refused: previous === null || now < was ? 0 : now - was,
  }
}
