/**
 * The server's diagnostics channels, beside the actor channels (runtime/channels.ts): for
 * outside observers (metrics, logs, tests) only. The master publishes on them and never
 * steers itself through them; its own parts talk through hooks.
 */
import { channel } from 'node:diagnostics_channel'

/** A reload began: the generation it will start. */
export interface ReloadStartEvent {
  readonly generation: number
}
/** A reload finished: the new generation serves, the old one was drained. */
export interface ReloadDoneEvent {
  readonly generation: number
  readonly workers: number
  readonly durationMs: number
}
/** A reload was refused or failed; the previous generation keeps serving. */
export interface ReloadFailedEvent {
  readonly generation: number
  readonly error: Error
}
/** The worker count changed on request (scale, TTIN/TTOU), or a request was ignored. */
export interface ScaleEvent {
  readonly from: number
  readonly to: number
  /** Set when nothing changed, with the reason. */
  readonly ignored?: string
}
/** A listener of the master (handoff) started or stopped listening. */
export interface ListenerEvent {
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
  listen: channel('troupe:server:listen'),
  unlisten: channel('troupe:server:unlisten'),
} as const

export const serverChannelNames = Object.values(serverChannels).map((c) => c.name as string)
