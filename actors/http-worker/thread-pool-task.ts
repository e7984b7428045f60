/**
 * A piscina pool thread of a `thread-pool` worker: makes the web Requests of a batch, runs
 * the app's fetch on each, moves the answers back together. Loads the app once per thread.
 */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads'
import { move } from 'piscina'
import { type AppContext, loadApp, type ResolvedApp } from '../../apps/app.ts'
import { Caller } from '../../runtime/calls.ts'
import { makeRef } from '../../runtime/ref.ts'
import { attachClient } from '../../transports/http/client.ts'
import { installFetchGlobals } from '../../transports/http/http-fetch.ts'
import { IncomingRequest } from '../../transports/http/incoming-request.ts'
import { lightParts } from '../../transports/http/light-response.ts'
import {
  decodeBatch,
  encodeAnswers,
  type RelayCall,
  type RelayReply,
  type ThreadAnswerOut,
  type ThreadBatch,
  type ThreadPoolData,
  type ThreadTask,
} from './thread-pool-protocol.ts'

const data = workerData as ThreadPoolData
let app: Promise<ResolvedApp> | undefined
installFetchGlobals()

// App actors live under the master; a pool thread reaches them through its worker.
const relay = new BroadcastChannel(data.relay)
relay.unref()
const caller = new Caller((call) => relay.postMessage({ ...call, thread: threadId } satisfies RelayCall))
relay.onmessage = (event) => {
  const reply = (event as unknown as { data: RelayReply | RelayCall }).data
  if (reply.t === 'call-reply' && reply.thread === threadId) caller.settle(reply)
}

const ctx: AppContext = {
  worker: data.worker,
  actor: (definition) => makeRef(caller.target(`${data.actorsPath}/${definition.name}`)),
}

/** A request's signal, made when the app reads it; nothing aborts it in a pool thread. */
class QuietSignal {
  #controller: AbortController | undefined
  signal(): AbortSignal {
    this.#controller ??= new AbortController()
    return this.#controller.signal
  }
}

/**
 * What the Request reads of its message, made from the task: the method and the headers, and
 * for a method with a body, the body as a stream (read only if the app reads it).
 */
const messageOf = (task: ThreadTask): IncomingMessage => {
  const view = { method: task.method, rawHeaders: task.rawHeaders }
  if (task.method === 'GET' || task.method === 'HEAD') return view as unknown as IncomingMessage
  const stream = new Readable({ read() {} })
  if (task.body) stream.push(Buffer.from(task.body))
  stream.push(null)
  return Object.assign(stream, view) as unknown as IncomingMessage
}

/**
 * The Request a pool thread's app gets: the worker's lazy one (incoming-request.ts), which
 * builds nothing the app does not read. An undici Request built per request was a third of
 * the pool thread's time on a hello world.
 */
const requestOf = (task: ThreadTask, maxBody: number): Request => {
  const request = new IncomingRequest(
    messageOf(task),
    new QuietSignal(),
    maxBody,
    task.url,
  ) as unknown as Request
  attachClient(request, task.client)
  return request
}

/** One request of a batch; an app failure becomes an answer of its own, not the batch's. */
const answer = async (task: ThreadTask): Promise<ThreadAnswerOut> => {
  try {
    app ??= loadApp(data.app)
    const { fetch } = await app
    // The worker bounded the body already (it is all here): no second bound.
    const response = await fetch!(requestOf(task, Number.POSITIVE_INFINITY), ctx)
    const parts = lightParts(response)
    const kept = parts?.body
    const hasBody = kept === undefined ? response.body !== null : kept !== null
    const body: Uint8Array | string =
      kept === undefined ? new Uint8Array(await response.arrayBuffer()) : kept === null ? '' : kept
    // A light response that nobody asked headers of has one at most: its content type.
    const headers: Array<readonly [string, string]> =
      parts && !parts.headers
        ? parts.contentType
          ? [['content-type', parts.contentType] as const]
          : []
        : [...response.headers]
    // HEAD: the worker writes no body and so frames none; the length is the one a GET would get
    // (none when the app answered without a body, as Hono's HEAD does).
    const status = response.status
    if (
      task.method === 'HEAD' &&
      hasBody &&
      status >= 200 &&
      status !== 204 &&
      status !== 304 &&
      !headers.some(([name]) => name === 'content-length')
    )
      headers.push([
        'content-length',
        String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
      ])
    return { head: { status, statusText: response.statusText, headers }, body }
  } catch (error) {
    const stack = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error)
    return { head: { status: 500, statusText: '', headers: [], error: stack }, body: '' }
  }
}

/** A batch of requests, one after the other: a pool thread runs one request at a time. */
export default async function run(batch: ThreadBatch): Promise<unknown> {
  const answers: ThreadAnswerOut[] = []
  for (const task of decodeBatch(batch)) answers.push(await answer(task))
  return move(encodeAnswers(answers) as never)
}
