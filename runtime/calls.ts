/**
 * Messages from code that cannot hold a cell (an actor in a thread or process, a pool thread
 * of a thread-pool worker) to an actor of the system, by path: the one call/reply shape, the
 * caller's side (a ref whose asks wait for replies) and the answering side (deliver, reply).
 * Every relay in troupe is these two halves with a channel between them.
 */
import type { Transferable } from 'node:worker_threads'
import { ActorStoppedError, type SerializedError, serializeError, UncloneableMessageError } from './errors.ts'
import { defaultAskTimeout, PendingAsks } from './pending.ts'
import type { AskOptions, RefTarget, TellOptions } from './ref.ts'

/** A message for the actor at `path`; `id` 0 for a tell (nobody waits for a reply). */
export interface Call {
  readonly t: 'call'
  readonly id: number
  readonly path: string
  readonly type: string
  readonly payload: unknown
}

/** The answer to an ask made by a Call. */
export interface CallReply {
  readonly t: 'call-reply'
  readonly id: number
  readonly ok: boolean
  readonly value?: unknown
  readonly error?: SerializedError
}

/** The caller's half: refs that send Calls, and the asks waiting for their CallReplies. */
export class Caller {
  readonly #send: (call: Call, transfer: readonly Transferable[] | undefined) => void
  readonly #pending = new PendingAsks()

  constructor(send: (call: Call, transfer: readonly Transferable[] | undefined) => void) {
    this.#send = send
  }

  /** A ref target for the actor at `path`. */
  target(path: string): RefTarget {
    return {
      path,
      tell: (type: string, payload: unknown, options: TellOptions | undefined) =>
        this.#send({ t: 'call', id: 0, path, type, payload }, options?.transfer),
      ask: (type: string, payload: unknown, options: AskOptions | undefined) =>
        this.#pending.open(
          `"${type}" to ${path}`,
          { timeout: options?.timeout ?? defaultAskTimeout, signal: options?.signal },
          (id) => this.#send({ t: 'call', id, path, type, payload }, options?.transfer),
        ),
    }
  }

  /** Settles the ask a reply answers (a reply to an ask that timed out is ignored). */
  settle(reply: CallReply): void {
    this.#pending.settle(reply.id, reply.ok, reply.value, reply.error)
  }
}

/**
 * The answering half: delivers `call` to the actor `resolve` finds and sends the reply back
 * with `reply`. A reply that cannot be cloned back is answered with TROUPE_E_UNCLONEABLE; a
 * tell that cannot be delivered goes to `tellFailed`, since nobody waits for its answer.
 */
export const answerCall = (
  call: Call,
  resolve: (path: string) => RefTarget | undefined,
  reply: (answer: CallReply) => void,
  tellFailed: (error: Error) => void,
): void => {
  const answer = (ok: boolean, result: unknown) => {
    try {
      reply(
        ok
          ? { t: 'call-reply', id: call.id, ok, value: result }
          : { t: 'call-reply', id: call.id, ok, error: serializeError(result) },
      )
    } catch (failure) {
      const uncloneable = new UncloneableMessageError(
        `the reply to "${call.type}" from ${call.path} cannot be sent back: ${(failure as Error).message}`,
        { cause: failure },
      )
      reply({ t: 'call-reply', id: call.id, ok: false, error: serializeError(uncloneable) })
    }
  }
  const target = resolve(call.path)
  if (call.id === 0) {
    try {
      if (!target) throw new ActorStoppedError(`no actor at ${call.path}`)
      target.tell(call.type, call.payload, undefined)
    } catch (error) {
      tellFailed(error as Error)
    }
    return
  }
  if (!target) {
    answer(false, new ActorStoppedError(`no actor at ${call.path}`))
    return
  }
  target.ask(call.type, call.payload, undefined).then(
    (value) => answer(true, value),
    (error: unknown) => answer(false, error),
  )
}
