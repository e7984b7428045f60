/**
 * The server's diagnostics channels, beside the actor channels (runtime/channels.ts): for
 * outside observers (metrics, logs, tests) only. The master publishes on them and never
 * steers itself through them; its own parts talk through hooks.
 */
import { channel } from 'node:diagnostics_channel'
import type { ExitReason } from '../exit.ts'

/**
 * Every server event names its server: a number that tells apart the servers of one process
 * (a test, an app embedding two), in the order they started.
 */
export interface ServerEvent {
  readonly server: number
}
/** A reload began: the generation it will start. */
export interface ReloadStartEvent extends ServerEvent {
  readonly generation: number
}
/** A reload finished: the new generation serves, the old one was drained. */
export interface ReloadDoneEvent extends ServerEvent {
  readonly generation: number
  readonly workers: number
  readonly durationMs: number
}
/** A reload was refused or failed; the previous generation keeps serving. */
export interface ReloadFailedEvent extends ServerEvent {
  readonly generation: number
  readonly error: Error
}
/** A worker of the pool became ready: first started (`restart` 0) or restarted by its supervisor. */
export interface WorkerReadyEvent extends ServerEvent {
  /** Its id (`w1`). */
  readonly worker: string
  readonly path: string
  readonly generation: number
  readonly placement: 'thread' | 'process'
  readonly kind: 'coroutine' | 'thread-pool'
  /** Its supervisor's restart count (0 on its first start). */
  readonly restart: number
}
/** A worker that had started exited: taken out (retired, recycled, stopped), or to be restarted. */
export interface WorkerExitEvent extends ServerEvent {
  readonly worker: string
  readonly path: string
  readonly generation: number
  readonly reason: ExitReason
  /** Its supervisor restarts it (it was not being taken out). */
  readonly restarting: boolean
}
/** A worker was recycled (its replacement ready first), or its recycling failed (`error`). */
export interface WorkerRecycleEvent extends ServerEvent {
  readonly worker: string
  readonly path: string
  /** Why: `max-requests`, `RSS over 128 MB`… */
  readonly why: string
  readonly error?: Error
}
/** The worker count changed on request (scale, TTIN/TTOU), or a request was ignored. */
export interface ScaleEvent extends ServerEvent {
  readonly from: number
  readonly to: number
  /** Set when nothing changed, with the reason. */
  readonly ignored?: string
}
/** An app actor was restarted on request (`troupe restart`, `restartActor()`) and is ready again. */
export interface ActorRestartEvent extends ServerEvent {
  /** Its path (`/troupe/actors/counter`). */
  readonly actor: string
  /** Its restarts so far (this one counts). */
  readonly restart: number
  readonly pid: number | null
  readonly threadId: number | null
}
/** A listener of the master (handoff) started or stopped listening. */
export interface ListenerEvent extends ServerEvent {
  /** The address as bound (a port 0 already resolved). */
  readonly address: string
}

/**
 * Server channels, zero cost while nobody subscribes. Names are part of the public contract
 * and listed in README.md ("Lifecycle channels"), kept in step by spec/channels.test.ts.
 */
export const serverChannels = {
  reloadStart: channel('troupe:server:reload:start'),
  reloadDone: channel('troupe:server:reload:done'),
  reloadFailed: channel('troupe:server:reload:failed'),
  scale: channel('troupe:server:scale'),
  workerReady: channel('troupe:server:worker:ready'),
  workerExit: channel('troupe:server:worker:exit'),
  workerRecycle: channel('troupe:server:worker:recycle'),
  actorRestart: channel('troupe:server:actor:restart'),
  listen: channel('troupe:server:listen'),
  unlisten: channel('troupe:server:unlisten'),
} as const

export const serverChannelNames = Object.values(serverChannels).map((c) => c.name as string)
