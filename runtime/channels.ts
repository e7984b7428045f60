import { channel } from 'node:diagnostics_channel'
import type { Placement } from './actor.ts'
import type { ExitReason } from './exit.ts'

/** Published when an actor or supervisor is about to start (also for each restart). */
export interface SpawnEvent {
  readonly path: string
  readonly kind: 'actor' | 'supervisor'
  readonly placement?: Placement
}
/** Published when an actor's init finished and it takes messages. */
export interface ReadyEvent {
  readonly path: string
  readonly pid: number
  readonly threadId: number | null
  readonly spawnMs: number
}
/** Published for every exit, whatever the reason. */
export interface ExitEvent {
  readonly path: string
  readonly reason: ExitReason
}
/** Published when a supervisor schedules a restart of a child, or restarts one on request. */
export interface RestartEvent {
  readonly path: string
  readonly supervisor: string
  /**
   * The backoff step after a crash (1, 2, …); 0 for a restart an operator asked for
   * (`troupe restart`, Supervisor.restartChild), which has no delay and is no crash.
   */
  readonly attempt: number
  readonly delayMs: number
  readonly reason: ExitReason
}
/** Published with each status an actor reports (`ctx.report`): a worker's counters, about once a second. */
export interface ReportEvent {
  readonly path: string
  readonly info: Readonly<Record<string, unknown>>
}
/** Published when a supervisor exceeds its intensity and gives up. */
export interface EscalateEvent {
  readonly path: string
  readonly restarts: number
  readonly periodMs: number
}

/**
 * Lifecycle channels, zero cost while nobody subscribes. Names are part of the public
 * contract: `troupe:actor:spawn`, `troupe:actor:ready`, `troupe:actor:exit`,
 * `troupe:actor:restart`, `troupe:actor:report`, `troupe:supervisor:escalate`.
 */
export const channels = {
  spawn: channel('troupe:actor:spawn'),
  ready: channel('troupe:actor:ready'),
  exit: channel('troupe:actor:exit'),
  restart: channel('troupe:actor:restart'),
  report: channel('troupe:actor:report'),
  escalate: channel('troupe:supervisor:escalate'),
} as const

export const channelNames = Object.values(channels).map((c) => c.name as string)
