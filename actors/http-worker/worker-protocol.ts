/** What the master tells a worker at start: one file, imported by both sides. */
import type { BindAddress } from '../../transports/http/listen.ts'

export type WorkerKind = 'coroutine' | 'thread-pool'

export interface WorkerArgs {
  /** file: URL of the app module. */
  readonly app: string
  readonly kind: WorkerKind
  /** Threads in the pool of a `thread-pool` worker. */
  readonly threads: number
  /** Requests that may wait for a pool thread before 503. */
  readonly threadQueue: number
  /** Requests a worker serves at once; past it, 503 with Retry-After. */
  readonly connections: number
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
  /** For the reuseport strategy: the worker binds these itself. */
  readonly reuseport?: { readonly binds: readonly BindAddress[]; readonly backlog: number }
}

/** What a worker reports (`ctx.report`); the master balances and recycles on it. */
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
  /** Set once when the worker wants replacing (max requests reached). */
  readonly recycle?: string
}
