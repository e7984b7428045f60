/**
 * Every metric `/metrics` serves, declared once: its type, labels and help text. metrics.ts
 * builds the registry from it; README.md's metric table is kept in step by
 * spec/metrics.table.test.ts. No prom-client here, so reading the table loads nothing.
 */

/** The labels of a per-worker series. */
export const WORKER_LABELS = ['worker', 'generation', 'placement', 'kind'] as const

interface MetricSpec {
  readonly type: 'counter' | 'gauge' | 'histogram'
  readonly labels: readonly string[]
  readonly help: string
}

const metric = <const L extends readonly string[]>(
  type: MetricSpec['type'],
  labels: L,
  help: string,
): MetricSpec & { readonly labels: L } => ({ type, labels, help })

export const metricTable = {
  troupe_info: metric(
    'gauge',
    ['version', 'strategy'],
    'troupe version and connection strategy of this master (always 1)',
  ),
  troupe_ready: metric(
    'gauge',
    [],
    '1 when /readyz answers 200: not stopping, and a worker of the serving generation ready',
  ),
  troupe_generation: metric(
    'gauge',
    [],
    'the worker generation that takes new connections (one more per reload)',
  ),
  troupe_http_requests_total: metric(
    'counter',
    ['status_class'],
    'requests answered, by status class (1xx … 5xx), over every worker since the master started',
  ),
  troupe_http_request_duration_seconds: metric(
    'histogram',
    [],
    'request latency (received to response finished), over every worker since the master started',
  ),
  troupe_http_requests_in_flight: metric('gauge', [], 'requests being served now, over every worker'),
  troupe_http_requests_shed_total: metric(
    'counter',
    [],
    'requests a worker shed with 503: at its connections limit, or past maxQueueDelay',
  ),
  troupe_http_request_timeouts_total: metric(
    'counter',
    [],
    'requests answered 504 because they ran past the timeout',
  ),
  troupe_workers: metric(
    'gauge',
    ['state'],
    'workers by state (starting, ready, restarting, stopping, stopped, failed)',
  ),
  troupe_worker_restarts_total: metric(
    'counter',
    ['reason'],
    'worker restarts, by the reason kind of the exit that caused them',
  ),
  troupe_worker_exits_total: metric(
    'counter',
    ['reason'],
    'worker exits, by reason kind (recycled and shutdown included)',
  ),
  troupe_actor_exits_total: metric('counter', ['reason'], "exits of the app's actors, by reason kind"),
  troupe_worker_requests_total: metric(
    'counter',
    WORKER_LABELS,
    'requests one worker started in its current incarnation (from zero again after a restart)',
  ),
  troupe_worker_requests_in_flight: metric('gauge', WORKER_LABELS, 'requests one worker is serving now'),
  troupe_worker_connections: metric('gauge', WORKER_LABELS, 'connections one worker has open now'),
  troupe_worker_upgraded_connections: metric(
    'gauge',
    WORKER_LABELS,
    'connections one worker has open now that were upgraded (WebSocket…), among its connections',
  ),
  troupe_worker_event_loop_utilization: metric(
    'gauge',
    WORKER_LABELS,
    "share of time one worker's event loop was busy (0-1) over its last report interval",
  ),
  troupe_worker_resident_memory_bytes: metric(
    'gauge',
    WORKER_LABELS,
    "RSS from one worker's last heartbeat (thread placement: the whole process's)",
  ),
  troupe_worker_heap_used_bytes: metric(
    'gauge',
    WORKER_LABELS,
    "V8 heap used, from one worker's last heartbeat",
  ),
  troupe_acceptor_queue_depth: metric(
    'gauge',
    [],
    'connections waiting in the master for a ready worker (handoff)',
  ),
  troupe_connections_accepted_total: metric(
    'counter',
    ['listener'],
    'connections accepted, by listening address: by the master, and by workers that accept there themselves (handoff)',
  ),
  troupe_connections_refused_total: metric(
    'counter',
    ['listener'],
    'connections the master answered 503 (queue full, or waited past the timeout), by listening address (handoff)',
  ),
  troupe_worker_connections_refused_total: metric(
    'counter',
    [],
    'connections the workers serving now refused before any request: a bad uwsgi packet or PROXY header, an untrusted PROXY peer',
  ),
} as const satisfies Record<string, MetricSpec>

export type MetricName = keyof typeof metricTable

/** The master process's own metrics (CPU, memory, event loop, GC) carry this prefix. */
export const MASTER_PREFIX = 'troupe_master_'

/** README.md's row for a metric: name, type, labels (`worker labels` for WORKER_LABELS), meaning. */
export interface MetricRow {
  readonly name: string
  readonly type: string
  readonly labels: string
  readonly help: string
}

export const metricRows = (): MetricRow[] =>
  Object.entries(metricTable).map(([name, { type, labels, help }]) => ({
    name,
    type,
    labels: labels === WORKER_LABELS ? 'worker labels' : labels.join(', '),
    help,
  }))
