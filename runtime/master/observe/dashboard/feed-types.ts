/**
 * What the dashboard's page receives: the contract between the master (feed.ts, dashboard.ts)
 * and the page (page/*.js, which reads these shapes as JSON). Types only.
 *
 * The page opens `GET /events` (Server-Sent Events). The first message, `hello`, carries
 * everything the page needs to draw itself, history included; then one `frame` a second at
 * most. A page that reconnects (EventSource does so itself, `retry: 1000`) gets a fresh
 * `hello` and replaces what it had: a master that restarted is told apart by `instance.pid`
 * and `instance.startedAt`.
 *
 * Actions are `POST /actions/NAME` with a JSON body and the header `x-troupe-action: 1` (a
 * cross-site form cannot send it; a cross-site script would need a preflight the listener never
 * grants). They answer `ActionAnswer` as JSON.
 */

import type { TreeNode } from '../../../tree.ts'
import type { InstanceInfo, ListenerStats, StatusCounts, WorkerStats } from '../../control/api.ts'
import type { LogLevel } from '../../log.ts'

/** One second (or so) of traffic: rates over the interval between two snapshots. */
export interface Sample {
  /** Epoch ms at the interval's end. */
  readonly at: number
  readonly rps: number
  /** Latency of the interval's requests (bucket estimates); null when there were none. Infinity cannot cross JSON: past the last bound is `LAST_BOUND_MS` + 1. */
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  /** Responses of the interval by status class (counts, not rates). */
  readonly status: StatusCounts
}

/** The master's side of the traffic at a moment: what the acceptor holds and refuses. */
export interface AcceptorSample {
  readonly at: number
  /** Connections waiting in the acceptor for a ready worker, all handoff listeners. */
  readonly queued: number
  /** Connections refused (503) over the interval, all handoff listeners. */
  readonly refused: number
}

/** Bounded history, oldest first: the last `HISTORY_SECONDS` seconds at most. */
export interface History {
  readonly total: readonly Sample[]
  /** By worker id (`w3`), for the workers the master has now or had within the window. */
  readonly workers: Readonly<Record<string, readonly Sample[]>>
  readonly acceptor: readonly AcceptorSample[]
}

/** One line of the event log pane: a spawn, an exit with its reason, a restart, an escalation, a reload… */
export interface DashEvent {
  /** Increasing within one master. */
  readonly id: number
  /** Epoch ms. */
  readonly at: number
  readonly level: LogLevel
  /** The master log's stable code: `worker.ready`, `worker.exit`, `worker.restart`, `reload.done`, `scale`, `actor.exit`, `supervisor.escalate`… */
  readonly event: string
  /** The line as the master's log says it. */
  readonly msg: string
  /** The worker (`w3`) or actor path it is about, if any. */
  readonly subject?: string
}

/** The state of everything at one moment: drawn as is, replacing the previous one. */
export interface Snapshot {
  readonly at: number
  readonly instance: InstanceInfo
  readonly ready: boolean
  readonly draining: boolean
  /** The whole supervision tree, as `troupe tree --json` prints it. */
  readonly tree: TreeNode
  /** Every worker, of every generation still alive (a reload shows two), with its counters and ELU. */
  readonly workers: readonly WorkerStats[]
  readonly listeners: readonly ListenerStats[]
  /** Since the master started. */
  readonly totals: { readonly requests: number; readonly restarts: number; readonly status: StatusCounts }
}

/** `event: hello`: sent first on every connection. */
export interface Hello {
  readonly snapshot: Snapshot
  readonly history: History
  /** The last `EVENT_LOG_SIZE` events at most, oldest first. */
  readonly events: readonly DashEvent[]
  /** Whether the actions are offered (they need `--admin-token`); if not, why, in a line for the page. */
  readonly actions: { readonly enabled: true } | { readonly enabled: false; readonly why: string }
  /** The samples' interval in ms (1000) and the history's length in samples. */
  readonly intervalMs: number
  readonly historySize: number
}

/** `event: frame`: at most once a second while the page is open. */
export interface Frame {
  readonly snapshot: Snapshot
  /** The interval that just ended, to append to the history. */
  readonly total: Sample
  readonly workers: Readonly<Record<string, Sample>>
  readonly acceptor: AcceptorSample
  /** Events since the previous frame, oldest first. */
  readonly events: readonly DashEvent[]
}

/** The body of `POST /actions/scale`. */
export interface ScaleBody {
  /** `4`, `"+1"`, `"-2"`. */
  readonly workers: number | string
}
/** The body of `POST /actions/kill`. */
export interface KillBody {
  readonly worker: string
}
/** The body of `POST /actions/restart`: an app actor's path or name. */
export interface RestartBody {
  readonly actor: string
}

/** What every action answers: the control API's outcome, or its coded error. */
export type ActionAnswer =
  | { readonly ok: true; readonly outcome: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string }

export const HISTORY_SECONDS = 300
export const EVENT_LOG_SIZE = 500
export const FRAME_INTERVAL_MS = 1_000
