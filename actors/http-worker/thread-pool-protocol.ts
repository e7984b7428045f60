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
 * The answer is one buffer, moved back: [u32 head length][head JSON][body]. piscina moves
 * only a top-level transferable, so the head rides inside it rather than beside it.
 */
export interface ThreadAnswerHead {
  readonly status: number
  readonly statusText: string
  readonly headers: ReadonlyArray<readonly [string, string]>
}

export const encodeAnswer = (head: ThreadAnswerHead, body: ArrayBuffer): ArrayBuffer => {
  const headBytes = new TextEncoder().encode(JSON.stringify(head))
  const out = new Uint8Array(4 + headBytes.length + body.byteLength)
  new DataView(out.buffer).setUint32(0, headBytes.length)
  out.set(headBytes, 4)
  out.set(new Uint8Array(body), 4 + headBytes.length)
  return out.buffer
}

export const decodeAnswer = (buffer: ArrayBuffer): { head: ThreadAnswerHead; body: Uint8Array } => {
  const length = new DataView(buffer).getUint32(0)
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length))) as ThreadAnswerHead
  return { head, body: new Uint8Array(buffer, 4 + length) }
}

/** Pool thread → worker: a message for an app actor (the actor core's call shape), from `thread`. */
export interface RelayCall extends Call {
  readonly thread: number
}

/** Worker → pool threads: the answer, addressed by thread (every pool thread hears the channel). */
export type RelayReply = CallReply & { readonly thread: number }
