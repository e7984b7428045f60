/** What the master tells a worker at start: one file, imported by both sides. */
import type { BindAddress } from '../../transports/http/listen.ts'
import type { TlsSettings } from '../../transports/http/tls.ts'

/** How a worker serves HTTP/2 beside HTTP/1.1. */
export interface Http2Settings {
  /** https:// binds offer h2 by ALPN. */
  readonly tls: boolean
  /** Plain binds serve a client that opens with the HTTP/2 preface (h2c, prior knowledge). */
  readonly cleartext: boolean
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may have open at once. */
  readonly maxConcurrentStreams: number
}

export type WorkerKind = 'coroutine' | 'thread-pool'

/** How a worker writes its own log lines, as the master decided for its own (`auto` already settled). */
export interface WorkerLogSettings {
  readonly format: 'text' | 'json'
  /** The least severe level written. */
  readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** The server's --name, for JSON records. */
  readonly name: string | null
}

export interface WorkerArgs {
  /** file: URL of the app module. */
  readonly app: string
  /**
   * The app's style as the master last found it: 'node' lets the worker leave the fetch
   * globals (and undici, ~20 ms of a spawn) alone while the app loads. Only a hint: an app that
   * turns out to be a fetch app gets them after loading.
   */
  readonly appStyle?: 'fetch' | 'node'
  readonly kind: WorkerKind
  /** Threads in the pool of a `thread-pool` worker. */
  readonly threads: number
  /** Requests that may wait for a pool thread before 503. */
  readonly threadQueue: number
  /** Requests a worker serves at once; past it, 503 with Retry-After. */
  readonly connections: number
  /** Queueing delay past which, standing for 50 ms, the worker sheds (QueueShedder), ms; 0: never. */
  readonly maxQueueDelayMs: number
  /** Per-request timeout, ms: past it, 504 and the handler's AbortSignal fires. */
  readonly timeoutMs: number
  readonly keepAliveMs: number
  readonly headersTimeoutMs: number
  readonly maxHeaderSize: number
  readonly maxHeaders: number
  readonly maxBodySize: number
  /** After this many requests the worker asks to be recycled (0: never). Jitter already applied. */
  readonly maxRequests: number
  /** Keep-alive connections idle this long during a drain are closed, ms. */
  readonly drainIdleMs: number
  readonly generation: number
  /** Where the app's actors live in the tree. */
  readonly actorsPath: string
  readonly log: WorkerLogSettings
  /** The access log this worker appends to (a path, or `-`: stdout), and its format; absent: none. */
  readonly accessLog?: { readonly target: string; readonly format: string }
  /** HTTP/2: offered in the TLS handshake of https:// binds, and (cleartext) to plain-bind clients that open with its preface. */
  readonly http2: Http2Settings
  /** The TLS of https:// binds: the worker reads the files and does the handshakes. */
  readonly tls?: TlsSettings
  /** The uwsgi listeners' limits: the vars block's size and count. */
  readonly uwsgi: { readonly maxVarsSize: number; readonly maxVars: number }
  /** Who may send a PROXY protocol header (listeners with `proxy` set). */
  readonly proxyAllowFrom: readonly string[]
  /** Whose forwarded headers set a request's client address and scheme. */
  readonly forwardedAllowIps: readonly string[]
  /** For the reuseport strategy: the worker binds these itself. */
  readonly reuseport?: { readonly binds: readonly BindAddress[]; readonly backlog: number }
}

/**
 * Upper bounds (ms, inclusive) of the request-latency histogram a worker keeps; one more
 * bucket past the last counts the rest. Prometheus' `le` buckets are these, cumulated.
 */
export const LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000] as const

/**
 * What a worker reports (`ctx.report`): when a connection closes or it wants recycling, and
 * once a second while it serves. The master balances and recycles on it; the stats, the
 * metrics and `troupe top` read it from the `troupe:actor:report` channel. Counters are
 * totals since the worker started: a restarted worker starts again from zero.
 */
export interface WorkerInfo {
  readonly generation: number
  readonly requests: number
  readonly inflight: number
  readonly connections: number
  /** Connections closed since start: the master's count of handed minus this is the load. */
  readonly closed: number
  readonly shed: number
  readonly timeouts: number
  readonly draining: boolean
  /** Responses by status class: [1xx, 2xx, 3xx, 4xx, 5xx] (the worker's own 503/504/413 included). */
  readonly status: readonly [number, number, number, number, number]
  /**
   * Request latency (request received → response finished), counted per LATENCY_BUCKETS_MS
   * bucket (not cumulative; length LATENCY_BUCKETS_MS.length + 1), and the sum in ms.
   */
  readonly latency: { readonly counts: readonly number[]; readonly sumMs: number }
  /** Event-loop utilisation (0–1) of the worker's loop over the last report interval. */
  readonly elu: number
  /** Connections upgraded (WebSocket…) and open now: counted apart from requests, and in `connections`. */
  readonly upgraded: number
  /** Upgrades since start. */
  readonly upgrades: number
  /** Connections refused before a request: a bad uwsgi packet or PROXY header, an untrusted peer. */
  readonly refused: number
  /** Set once when the worker wants replacing (max requests reached). */
  readonly recycle?: string
  /**
   * Connections it accepted itself on listeners it was given (a process on TCP, a thread on
   * unix), by address as formatBind writes it, since it started; absent while none.
   */
  readonly acceptedItself?: Readonly<Record<string, number>>
}
