/**
 * What happened between two stats snapshots: `troupe top` shows rates and the latency of the
 * last interval, not totals since start. Workers report counters since they started, so a
 * restarted worker's counters go back to zero; its interval counts from zero then, never below.
 */
import { LATENCY_BUCKETS_MS } from '../../../actors/http-worker/worker-protocol.ts'
import type { Stats, WorkerStats } from '../control/api.ts'
import { latencyQuantile } from './latency.ts'

/** One worker's counters over the interval. */
export interface WorkerDelta {
  readonly requests: number
  readonly status4xx: number
  readonly status5xx: number
  /** Per LATENCY_BUCKETS_MS bucket (the last one past the last bound), not cumulative. */
  readonly latency: readonly number[]
}

/** The interval between two snapshots: its length and each worker's counters over it. */
export interface Interval {
  readonly seconds: number
  /** By worker id; a worker absent here has no previous snapshot to diff against. */
  readonly workers: ReadonlyMap<string, WorkerDelta>
  /**
   * The master's totals over the interval: they add up every incarnation, so the requests of a
   * worker that exited within the interval count too.
   */
  readonly total: WorkerDelta
}

/** The same run of a worker: a restart (new start, pid or thread) counts its counters from zero. */
export const sameIncarnation = (a: WorkerStats, b: WorkerStats): boolean =>
  a.startedAt === b.startedAt && a.pid === b.pid && a.threadId === b.threadId

/**
 * The counters of `current` since `previous`. A worker that restarted in between (another
 * incarnation, or a counter that went down) counts from zero: its whole count is the interval's.
 */
export const workerDelta = (previous: WorkerStats | undefined, current: WorkerStats): WorkerDelta => {
  const from = previous && sameIncarnation(previous, current) ? previous : undefined
  const latency = current.latency.counts.map((n, i) => n - (from?.latency.counts[i] ?? 0))
  const requests = current.requests - (from?.requests ?? 0)
  const status4xx = current.status['4xx'] - (from?.status['4xx'] ?? 0)
  const status5xx = current.status['5xx'] - (from?.status['5xx'] ?? 0)
  if (from && (requests < 0 || status4xx < 0 || status5xx < 0 || latency.some((n) => n < 0)))
    return workerDelta(undefined, current)
  return { requests, status4xx, status5xx, latency }
}

/** The master's totals never go down; if they did (another master), the workers' sum stands in. */
const totalsDelta = (previous: Stats['totals'], current: Stats['totals']): WorkerDelta | null => {
  const delta = {
    requests: current.requests - previous.requests,
    status4xx: current.status['4xx'] - previous.status['4xx'],
    status5xx: current.status['5xx'] - previous.status['5xx'],
    latency: current.latency.counts.map((n, i) => n - (previous.latency.counts[i] ?? 0)),
  }
  const negative =
    delta.requests < 0 || delta.status4xx < 0 || delta.status5xx < 0 || delta.latency.some((n) => n < 0)
  return negative ? null : delta
}

const sum = (deltas: readonly WorkerDelta[]): WorkerDelta => ({
  requests: deltas.reduce((n, d) => n + d.requests, 0),
  status4xx: deltas.reduce((n, d) => n + d.status4xx, 0),
  status5xx: deltas.reduce((n, d) => n + d.status5xx, 0),
  latency: Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) =>
    deltas.reduce((n, d) => n + (d.latency[i] ?? 0), 0),
  ),
})

/**
 * The interval from `previous` to `current`, or null when there is nothing to diff (no
 * previous snapshot, or one of another master or not older).
 */
export const intervalBetween = (previous: Stats | null, current: Stats): Interval | null => {
  if (!previous || previous.instance.pid !== current.instance.pid) return null
  const seconds = (current.at - previous.at) / 1_000
  if (!(seconds > 0)) return null
  const before = new Map(previous.workers.map((w) => [w.id, w]))
  const workers = new Map(current.workers.map((w) => [w.id, workerDelta(before.get(w.id), w)]))
  return {
    seconds,
    workers,
    total: totalsDelta(previous.totals, current.totals) ?? sum([...workers.values()]),
  }
}

/**
 * The `q` quantile (0–1) of a latency histogram, in ms, interpolated linearly within its
 * bucket as Prometheus' histogram_quantile does: an estimate within one bucket. Infinity when
 * it falls past the last bound; null for an empty histogram.
 */
export const quantileMs = (counts: readonly number[], q: number): number | null =>
  counts.some((c) => c > 0) ? latencyQuantile(counts, q, Number.POSITIVE_INFINITY) : null
