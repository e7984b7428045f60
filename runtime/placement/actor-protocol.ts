/**
 * Sockets (net.Socket, net.Server) move in every placement: to a thread in the transfer
 * list, to a process as the IPC send-handle. `handleKey` says where the handle goes back
 * into the payload on the process side ('' for the payload itself).
 *
 * The messages between an actor's cell (in the parent) and its host (in a thread, a child
 * process, or the same loop for `local`). Both sides import these types; nothing else
 * crosses the boundary.
 */
import type { Call, CallReply } from '../calls.ts'
import type { SerializedError } from '../errors.ts'
import type { ExitReason } from '../exit.ts'

export interface StartMessage {
  readonly t: 'start'
  readonly module: string
  readonly name: string
  readonly path: string
  readonly args: unknown
  /** ms between heartbeats; 0 disables them. */
  readonly heartbeatMs: number
}

export type ToHost =
  | StartMessage
  | { readonly t: 'tell'; readonly type: string; readonly payload: unknown; readonly handleKey?: string }
  | {
      readonly t: 'ask'
      readonly id: number
      readonly type: string
      readonly payload: unknown
      readonly handleKey?: string
    }
  /** The answer to a `call` the actor made to another actor. Handled at once, not queued. */
  | CallReply
  /**
   * Graceful stop: finish the current message, run `terminate`, exit with reason shutdown and
   * the exact processed count. What is still queued is left: the cell hands it to the next
   * incarnation, or refuses it when none comes.
   */
  | { readonly t: 'stop' }

export interface MemoryReport {
  readonly rss: number
  readonly heapUsed: number
}

export type FromHost =
  | { readonly t: 'ready' }
  | { readonly t: 'init-failed'; readonly error: SerializedError }
  | {
      readonly t: 'reply'
      readonly id: number
      readonly ok: boolean
      readonly value?: unknown
      readonly error?: SerializedError
      /** Messages processed so far; lets the cell keep its mailbox count without per-message acks. */
      readonly processed: number
    }
  | { readonly t: 'ack'; readonly processed: number }
  | { readonly t: 'heartbeat'; readonly memory: MemoryReport }
  /** A message from this actor to another actor of the system, by path; `id` 0 for a tell. */
  | Call
  /** The actor's latest status, for the tree (`ctx.report`). */
  | { readonly t: 'info'; readonly info: Readonly<Record<string, unknown>> }
  /**
   * The host is about to end; the reason is more precise than an exit code, and `processed`
   * is exact, so the cell can hand messages that were never started to the next incarnation.
   */
  | { readonly t: 'exit'; readonly reason: ExitReason; readonly processed: number }
