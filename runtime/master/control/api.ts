/**
 * The control API: everything an operator can ask of a running master. One interface, used
 * by the CLI (`troupe tree`, `scale`, …), by the tests and by users' scripts through
 * `connect()`; the master exposes it on its control socket. Types only, so any side may
 * import it without loading the control plane.
 */
import type { ExitReason } from '../../exit.ts'
import type { TreeNode } from '../../tree.ts'
import type { ResolvedConfig } from '../config.ts'
import type { LogThreshold } from '../log.ts'

/**
 * The wire protocol's version. A CLI and a master that speak different versions refuse each
 * other in the handshake with one line saying which is which; bump it on any change to this
 * file that an older peer would misread.
 */
export const CONTROL_PROTOCOL = 1

/** Who a running master is: what `troupe ls` lists. */
export interface InstanceInfo {
  readonly protocol: number
  /** troupe's version in the master. */
  readonly version: string
  /** `--name`, or null for an unnamed master. */
  readonly name: string | null
  readonly pid: number
  /** The control socket's path, or null when the master has none. */
  readonly control: string | null
  /** Listening addresses as bound. */
  readonly binds: readonly string[]
  readonly workers: number
  /** Epoch ms the master started. */
  readonly startedAt: number
  readonly generation: number
  /** The admin listener's address, if one is configured. */
  readonly admin: string | null
}

/** Requests by status class, as counted by the workers. */
export interface StatusCounts {
  readonly '1xx': number
  readonly '2xx': number
  readonly '3xx': number
  readonly '4xx': number
  readonly '5xx': number
}

/**
 * A latency summary from the workers' histograms: p50/p99 are estimates within one bucket,
 * since start. `counts` (per LATENCY_BUCKETS_MS bucket, not cumulative, the last one past the
 * last bound) lets a viewer diff two snapshots for the latency of an interval (`troupe top`).
 */
export interface LatencySummary {
  readonly count: number
  readonly sumMs: number
  readonly meanMs: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly counts: readonly number[]
}

/** What the workers count, per worker and in total. */
export interface RequestCounts {
  readonly requests: number
  readonly inflight: number
  readonly connections: number
  /** Of those connections, the ones upgraded (WebSocket…) and open now: not requests, and never shed. */
  readonly upgraded: number
  readonly shed: number
  /**
   * Connections refused before any request: a bad uwsgi packet or PROXY header, an untrusted
   * PROXY peer (the total counts the workers serving now).
   */
  readonly refusedConnections: number
  readonly timeouts: number
  readonly status: StatusCounts
  readonly latency: LatencySummary
}

/** One worker, as `troupe tree` and `troupe stats` show it. */
export interface WorkerStats extends RequestCounts {
  /** `w3`: what `troupe kill` takes. */
  readonly id: string
  readonly path: string
  readonly generation: number
  readonly placement: 'thread' | 'process'
  readonly kind: 'coroutine' | 'thread-pool'
  readonly pid: number | null
  readonly threadId: number | null
  readonly state: TreeNode['state']
  /** Epoch ms of the current incarnation's start. */
  readonly startedAt: number | null
  readonly uptimeMs: number | null
  readonly restarts: number
  readonly lastExit: ExitReason | null
  readonly draining: boolean
  /** Bytes, from the last heartbeat (thread: rss is the whole process's). */
  readonly memory: { readonly rss: number; readonly heapUsed: number } | null
  /** Event-loop utilisation 0–1 over the last report interval. */
  readonly elu: number | null
}

/** One listening address of the master (handoff) or of the workers (reuseport). */
export interface ListenerStats {
  readonly address: string
  /** What its connections speak: HTTP, or uwsgi (a --uwsgi listener). */
  readonly protocol: 'http' | 'uwsgi'
  readonly strategy: 'handoff' | 'reuseport'
  readonly backlog: number
  /** Connections waiting in the acceptor for a ready worker (handoff; 0 under reuseport). */
  readonly queued: number
  /**
   * Connections accepted on this address since it opened. Null under reuseport: the kernel
   * hands them to the workers' own listeners and the master never sees them.
   */
  readonly accepted: number | null
  /** Connections answered 503 because the acceptor's queue was full or waited too long (null under reuseport). */
  readonly refused: number | null
}

/** What `troupe stats --json` prints: a complete snapshot, like uWSGI's stats server. */
export interface Stats {
  readonly instance: InstanceInfo
  /** Epoch ms of the snapshot. */
  readonly at: number
  /** What `/readyz` answers: not stopping, and a worker of the serving generation ready. */
  readonly ready: boolean
  /** A graceful stop began (the probes said not ready first). */
  readonly draining: boolean
  readonly listeners: readonly ListenerStats[]
  readonly workers: readonly WorkerStats[]
  /** The app's actors (tree nodes under /troupe/actors). */
  readonly actors: readonly TreeNode[]
  readonly totals: RequestCounts & {
    /** Worker restarts since the master started. */
    readonly restarts: number
  }
  /** Exits of workers and actors since the master started, by reason kind (`crash`, `killed`, …). */
  readonly exitsByReason: Readonly<Record<string, number>>
  /** Exits of workers alone, by reason kind (recycled, shutdown on reload or scale-down, crash, …). */
  readonly workerExitsByReason: Readonly<Record<string, number>>
  /** Worker restarts since the master started, by the reason kind of the exit that caused them. */
  readonly restartsByReason: Readonly<Record<string, number>>
  /** As resolved, with credentials (`adminToken`) masked. */
  readonly config: ResolvedConfig
}

/** What `reload()` answers once the new generation serves and the old one has drained. */
export interface ReloadOutcome {
  readonly generation: number
  readonly workers: number
  readonly durationMs: number
}

/** What `scale()` answers: the count before and after (equal, with the reason, when refused). */
export interface ScaleOutcome {
  readonly from: number
  readonly to: number
}

/** What `kill()` answers once the worker is gone and its replacement is ready (or not, and why). */
export interface KillOutcome {
  readonly worker: string
  readonly reason: ExitReason
  /** Restarts of that worker so far (the replacement counts). */
  readonly restarts: number
  readonly replaced: boolean
}

/** What `restart()` answers once the app actor runs again (or not, and why). */
export interface RestartOutcome {
  /** The actor's path in the tree (`/troupe/actors/counter`). */
  readonly actor: string
  /** Restarts of that actor so far (this one counts). */
  readonly restarts: number
  readonly state: TreeNode['state']
  readonly pid: number | null
  readonly threadId: number | null
}

/**
 * The remote master. Every method answers once the outcome is known (a reload: the new
 * generation ready and the old one drained), or rejects with a coded error.
 */
export interface ControlApi {
  info(): InstanceInfo
  tree(): TreeNode
  stats(): Stats
  reload(): Promise<ReloadOutcome>
  /** `4` sets the count; `'+1'` / `'-2'` change it. */
  scale(workers: number | `+${number}` | `-${number}`): Promise<ScaleOutcome>
  kill(worker: string): Promise<KillOutcome>
  /**
   * Stops an app actor gracefully and starts it again under its supervisor, keeping the
   * messages waiting for it (`counter` or `/troupe/actors/counter`).
   */
  restart(actor: string): Promise<RestartOutcome>
  /** Resolves when the master has begun stopping; the socket closes when it is gone. */
  stop(options?: { readonly graceful?: boolean }): Promise<void>
  /** The log level of the master and its workers from now on (a reload applies the config's again). */
  setLogLevel(level: LogThreshold): Promise<LogThreshold>
}
