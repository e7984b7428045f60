import type { Call, CallReply } from '../../runtime/calls.ts'
import type { ClientInfo } from '../../transports/http/client.ts'

/** One request to a pool thread, and its answer: typed on both sides. */
export interface ThreadTask {
  readonly method: string
  readonly url: string
  readonly rawHeaders: readonly string[]
  /** The whole body, moved (not copied) into the pool thread; null for none. */
  readonly body: ArrayBuffer | null
  /** Who the client is, as the worker knows it: what clientAddress(request) answers in the pool thread. */
  readonly client: ClientInfo
}

export interface ThreadPoolData {
  readonly app: string
  /** BroadcastChannel name over which pool threads reach the app's actors through their worker. */
  readonly relay: string
  readonly actorsPath: string
  readonly worker: {
    readonly id: string
    readonly generation: number
    readonly pid: number
    readonly threadId: number
  }
}

/**
 * Requests cross to a pool thread in batches (every request a worker parsed in one turn of its
 * loop, split over the pool's threads) and their answers come back together: one message each
 * way per batch instead of per request. Each crossing wakes a sleeping thread, and on a busy
 * core that wake-up (a context switch each way) cost more than the request itself.
 *
 * The answers are one buffer, moved back: [u32 count], then per answer [u32 head length]
 * [u32 body length][head JSON][body]. piscina moves only a top-level transferable, so the
 * heads ride inside it rather than beside it.
 */
export interface ThreadAnswerHead {
  readonly status: number
  readonly statusText: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The app threw (or rejected) instead: its stack, for the worker's log; answered 500. */
  readonly error?: string
}

export interface ThreadAnswer {
  readonly head: ThreadAnswerHead
  readonly body: Uint8Array
}

export const encodeAnswers = (answers: readonly ThreadAnswer[]): ArrayBuffer => {
  const encoder = new TextEncoder()
  const heads = answers.map((a) => encoder.encode(JSON.stringify(a.head)))
  let size = 4
  for (const [i, a] of answers.entries()) size += 8 + heads[i]!.length + a.body.byteLength
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, answers.length)
  let at = 4
  for (const [i, a] of answers.entries()) {
    view.setUint32(at, heads[i]!.length)
    view.setUint32(at + 4, a.body.byteLength)
    out.set(heads[i]!, at + 8)
    out.set(a.body, at + 8 + heads[i]!.length)
    at += 8 + heads[i]!.length + a.body.byteLength
  }
  return out.buffer
}

export const decodeAnswers = (buffer: ArrayBuffer): ThreadAnswer[] => {
  const view = new DataView(buffer)
  const decoder = new TextDecoder()
  const answers: ThreadAnswer[] = []
  let at = 4
  for (let i = view.getUint32(0); i > 0; i--) {
    const headLength = view.getUint32(at)
    const bodyLength = view.getUint32(at + 4)
    const head = JSON.parse(decoder.decode(new Uint8Array(buffer, at + 8, headLength))) as ThreadAnswerHead
    answers.push({ head, body: new Uint8Array(buffer, at + 8 + headLength, bodyLength) })
    at += 8 + headLength + bodyLength
  }
  return answers
}

/** Pool thread → worker: a message for an app actor (the actor core's call shape), from `thread`. */
export interface RelayCall extends Call {
  readonly thread: number
}

/** Worker → pool threads: the answer, addressed by thread (every pool thread hears the channel). */
export type RelayReply = CallReply & { readonly thread: number }
