import type { Transferable } from 'node:worker_threads'
import type { MessageSpec } from './actor.ts'

export interface TellOptions {
  /** ArrayBuffers (etc.) to move rather than copy; the sender's copies are detached in every placement. */
  readonly transfer?: readonly Transferable[]
}

export interface AskOptions extends TellOptions {
  /** ms to wait for the reply before rejecting with TROUPE_E_ASK_TIMEOUT (default: the actor's askTimeout). */
  readonly timeout?: number
  /** Aborting rejects the ask with TROUPE_E_ASK_ABORTED; the message may still be handled. */
  readonly signal?: AbortSignal
}

type PayloadOf<M> = M extends MessageSpec<infer P, any> ? P : never
type ReplyOf<M> = M extends MessageSpec<any, infer R> ? R : never

/** A payload is optional exactly when the handler does not take one (or accepts undefined). */
export type MessageArgs<M, O> =
  undefined extends PayloadOf<M>
    ? [payload?: PayloadOf<M>, options?: O]
    : [payload: PayloadOf<M>, options?: O]

/**
 * The only way to reach an actor. Typed by its protocol: a message type the actor does not
 * handle, a payload of the wrong type, or reading the wrong reply type are compile errors.
 */
export interface ActorRef<P> {
  /** Path in the supervision tree, stable across restarts. */
  readonly path: string
  /** Fire and forget. Throws TROUPE_E_MAILBOX_FULL, TROUPE_E_INVALID_MESSAGE or TROUPE_E_ACTOR_STOPPED synchronously. */
  tell<K extends keyof P & string>(type: K, ...args: MessageArgs<P[K], TellOptions>): void
  /** Request/reply. Rejects with a coded error (timeout, abort, mailbox full, crash, exit). */
  ask<K extends keyof P & string>(type: K, ...args: MessageArgs<P[K], AskOptions>): Promise<ReplyOf<P[K]>>
}

/** What a ref needs from whatever stands behind it (a cell here, a channel to the master elsewhere). */
export interface RefTarget {
  readonly path: string
  tell(type: string, payload: unknown, options: TellOptions | undefined): void
  ask(type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown>
}

export const makeRef = <P>(target: RefTarget): ActorRef<P> =>
  Object.freeze({
    path: target.path,
    tell: (type: string, payload?: unknown, options?: TellOptions) => target.tell(type, payload, options),
    ask: (type: string, payload?: unknown, options?: AskOptions) => target.ask(type, payload, options),
  }) as unknown as ActorRef<P>
