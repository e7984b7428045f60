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
 * A batch crosses as one JSON string of tuples and the bodies beside it (moved, not copied):
 * the structured clone of an array of task objects cost twice as much as JSON.stringify and
 * JSON.parse of the same fields as a string (16 hello requests: 27 µs against 8 µs a batch).
 */
export interface ThreadBatch {
  /** JSON of one TaskTuple per request. */
  readonly tasks: string
  /** Each request's body, or null for none; absent when no request of the batch has one. */
  readonly bodies?: ReadonlyArray<ArrayBuffer | null>
}

type TaskTuple = [
  method: string,
  url: string,
  rawHeaders: readonly string[],
  address: string | null,
  port: number | null,
  scheme: 'http' | 'https',
  host: string | null,
]

export const encodeBatch = (
  tasks: readonly ThreadTask[],
): { batch: ThreadBatch; transfer: ArrayBuffer[] } => {
  const tuples: TaskTuple[] = []
  const transfer: ArrayBuffer[] = []
  for (const { method, url, rawHeaders, body, client } of tasks) {
    tuples.push([
      method,
      url,
      rawHeaders,
      client.address ?? null,
      client.port ?? null,
      client.scheme,
      client.host ?? null,
    ])
    if (body) transfer.push(body)
  }
  const json = JSON.stringify(tuples)
  if (transfer.length === 0) return { batch: { tasks: json }, transfer }
  return { batch: { tasks: json, bodies: tasks.map((t) => t.body) }, transfer }
}

export const decodeBatch = (batch: ThreadBatch): ThreadTask[] =>
  (JSON.parse(batch.tasks) as TaskTuple[]).map(
    ([method, url, rawHeaders, address, port, scheme, host], i) => ({
      method,
      url,
      rawHeaders,
      body: batch.bodies?.[i] ?? null,
      client: { address: address ?? undefined, port: port ?? undefined, scheme, host: host ?? undefined },
    }),
  )

/**
 * The answers are one buffer, moved back: [u32 heads length][heads JSON, an array][u32 body
 * length per answer][the bodies]. piscina moves only a top-level transferable, so the heads
 * ride inside it rather than beside it; string bodies are written straight into it.
 */
export interface ThreadAnswerHead {
  readonly status: number
  readonly statusText: string
  /**
   * Names and values in one flat list (what node:http's writeHead takes fastest), each
   * Set-Cookie apart; the Content-Length a body needs is in it already.
   */
  readonly headers: readonly string[]
  /** The app threw (or rejected) instead: its stack, for the worker's log; answered 500. */
  readonly error?: string
}

export interface ThreadAnswer {
  readonly head: ThreadAnswerHead
  readonly body: Uint8Array
}

/** An answer as the pool thread has it: a string body is encoded only into the batch's buffer. */
export interface ThreadAnswerOut {
  readonly head: ThreadAnswerHead
  readonly body: Uint8Array | string
}

/** A body's length in bytes as written: a string's in UTF-8. */
export const bodyLength = (body: Uint8Array | string): number =>
  typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength

export const encodeAnswers = (answers: readonly ThreadAnswerOut[]): ArrayBuffer => {
  const heads = JSON.stringify(answers.map((a) => a.head))
  const headsLength = Buffer.byteLength(heads)
  const lengths = answers.map((a) => bodyLength(a.body))
  let size = 4 + headsLength + 4 * answers.length
  for (const length of lengths) size += length
  // Its own ArrayBuffer (not a slice of Buffer's pool), so that it can be moved.
  const out = Buffer.allocUnsafeSlow(size)
  out.writeUInt32BE(headsLength, 0)
  out.write(heads, 4, 'utf8')
  let at = 4 + headsLength
  for (const length of lengths) at = out.writeUInt32BE(length, at)
  for (const [i, { body }] of answers.entries()) {
    if (typeof body === 'string') out.write(body, at, 'utf8')
    else out.set(body, at)
    at += lengths[i]!
  }
  return out.buffer as ArrayBuffer
}

export const decodeAnswers = (buffer: ArrayBuffer): ThreadAnswer[] => {
  const bytes = Buffer.from(buffer)
  const headsLength = bytes.readUInt32BE(0)
  const heads = JSON.parse(bytes.toString('utf8', 4, 4 + headsLength)) as ThreadAnswerHead[]
  let lengthAt = 4 + headsLength
  let at = lengthAt + 4 * heads.length
  const answers: ThreadAnswer[] = []
  for (const head of heads) {
    const length = bytes.readUInt32BE(lengthAt)
    lengthAt += 4
    answers.push({ head, body: bytes.subarray(at, at + length) })
    at += length
  }
  return answers
}

/** Pool thread → worker: a message for an app actor (the actor core's call shape), from `thread`. */
export interface RelayCall extends Call {
  readonly thread: number
}

/** Worker → pool threads: the answer, addressed by thread (every pool thread hears the channel). */
export type RelayReply = CallReply & { readonly thread: number }
