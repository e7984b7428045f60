/**
 * The Prometheus metrics: a prom-client registry of the server's own (never the global one),
 * filled at each scrape from one stats snapshot and the book. Loaded only when an admin
 * listener is configured: prom-client stays out of a master that does not need it.
 */
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client'
import { LATENCY_BUCKETS_MS } from '../../../actors/http-worker/worker-protocol.ts'
import type { Stats } from '../control/api.ts'
import type { Book } from './book.ts'
import { MASTER_PREFIX, type MetricName, metricTable } from './metric-table.ts'

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
const WORKER_STATES = ['starting', 'ready', 'restarting', 'stopping', 'stopped', 'failed'] as const

/**
 * A histogram whose buckets the workers already counted: prom-client's Histogram only learns
 * from observe(), one value at a time. The registry renders whatever `get()` returns.
 */
class CountedHistogram {
  readonly name = 'troupe_http_request_duration_seconds'
  readonly help = metricTable.troupe_http_request_duration_seconds.help
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  #counts: readonly number[] = []
  #sumMs = 0

  set(counts: readonly number[], sumMs: number): void {
    this.#counts = counts
    this.#sumMs = sumMs
  }

  async get() {
    let cumulative = 0
    const values = LATENCY_BUCKETS_MS.map((bound, i) => {
      cumulative += this.#counts[i] ?? 0
      return { metricName: `${this.name}_bucket`, labels: { le: bound / 1_000 }, value: cumulative }
    })
    cumulative += this.#counts[LATENCY_BUCKETS_MS.length] ?? 0
    values.push({
      metricName: `${this.name}_bucket`,
      labels: { le: '+Inf' as unknown as number },
      value: cumulative,
    })
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [
        ...values,
        { metricName: `${this.name}_sum`, labels: {}, value: this.#sumMs / 1_000 },
        { metricName: `${this.name}_count`, labels: {}, value: cumulative },
      ],
    }
  }
}

export interface Metrics {
  readonly contentType: string
  /** The exposition text for this snapshot. */
  render(stats: Stats): Promise<string>
}

export const createMetrics = (book: Book): Metrics => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: MASTER_PREFIX })
  type LabelOf<N extends MetricName> = (typeof metricTable)[N]['labels'][number]
  const gauge = <N extends MetricName>(name: N) => {
    const { help, labels } = metricTable[name]
    return new Gauge<LabelOf<N>>({ name, help, labelNames: labels, registers: [registry] })
  }
  const counter = <N extends MetricName>(name: N) => {
    const { help, labels } = metricTable[name]
    return new Counter<LabelOf<N>>({ name, help, labelNames: labels, registers: [registry] })
  }

  const info = gauge('troupe_info')
  const ready = gauge('troupe_ready')
  const generation = gauge('troupe_generation')
  const requests = counter('troupe_http_requests_total')
  const latency = new CountedHistogram()
  registry.registerMetric(latency as unknown as Metric)
  const inflight = gauge('troupe_http_requests_in_flight')
  const shed = counter('troupe_http_requests_shed_total')
  const timeouts = counter('troupe_http_request_timeouts_total')
  const workers = gauge('troupe_workers')
  const restarts = counter('troupe_worker_restarts_total')
  const exits = counter('troupe_worker_exits_total')
  const actorExits = counter('troupe_actor_exits_total')
  const workerRequests = counter('troupe_worker_requests_total')
  const workerInflight = gauge('troupe_worker_requests_in_flight')
  const workerConnections = gauge('troupe_worker_connections')
  const workerUpgraded = gauge('troupe_worker_upgraded_connections')
  const workerElu = gauge('troupe_worker_event_loop_utilization')
  const workerRss = gauge('troupe_worker_resident_memory_bytes')
  const workerHeap = gauge('troupe_worker_heap_used_bytes')
  const queue = gauge('troupe_acceptor_queue_depth')
  const accepted = counter('troupe_connections_accepted_total')
  const refused = counter('troupe_connections_refused_total')
  const refusedByWorkers = counter('troupe_worker_connections_refused_total')

  /** Counters are set from totals kept elsewhere: start over and add the total. */
  const setCounter = <L extends string>(c: Counter<L>, entries: Iterable<[Record<L, string>, number]>) => {
    c.reset()
    for (const [labels, value] of entries) c.inc(labels, value)
  }
  const byReason = (counts: ReadonlyMap<string, number>) =>
    [...counts].map(([reason, n]): [{ reason: string }, number] => [{ reason }, n])

  const update = (stats: Stats): void => {
    info.reset()
    info.set({ version: stats.instance.version, strategy: stats.config.strategy }, 1)
    ready.set(stats.ready ? 1 : 0)
    generation.set(stats.instance.generation)
    setCounter(
      requests,
      STATUS_CLASSES.map((c) => [{ status_class: c }, stats.totals.status[c]]),
    )
    latency.set(stats.totals.latency.counts, stats.totals.latency.sumMs)
    inflight.set(stats.totals.inflight)
    setCounter(shed, [[{}, stats.totals.shed]])
    setCounter(refusedByWorkers, [[{}, stats.totals.refusedConnections]])
    setCounter(timeouts, [[{}, stats.totals.timeouts]])
    workers.reset()
    for (const state of WORKER_STATES)
      workers.set({ state }, stats.workers.filter((w) => w.state === state).length)
    setCounter(restarts, byReason(book.workerRestarts))
    setCounter(exits, byReason(book.workerExits))
    setCounter(actorExits, byReason(book.actorExits))
    for (const g of [workerInflight, workerConnections, workerElu, workerRss, workerHeap]) g.reset()
    workerRequests.reset()
    for (const w of stats.workers) {
      const labels = { worker: w.id, generation: String(w.generation), placement: w.placement, kind: w.kind }
      workerRequests.inc(labels, w.requests)
      workerInflight.set(labels, w.inflight)
      workerConnections.set(labels, w.connections)
      workerUpgraded.set(labels, w.upgraded)
      if (w.elu !== null) workerElu.set(labels, w.elu)
      if (w.memory) {
        workerRss.set(labels, w.memory.rss)
        workerHeap.set(labels, w.memory.heapUsed)
      }
    }
    const handoff = stats.listeners.filter((l) => l.strategy === 'handoff')
    queue.set(handoff.reduce((n, l) => n + l.queued, 0))
    setCounter(
      accepted,
      handoff.map((l) => [{ listener: l.address }, l.accepted ?? 0]),
    )
    setCounter(
      refused,
      handoff.map((l) => [{ listener: l.address }, l.refused ?? 0]),
    )
  }

  return {
    contentType: registry.contentType,
    render: (stats) => {
      update(stats)
      return registry.metrics()
    },
  }
}
