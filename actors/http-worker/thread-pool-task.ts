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
import { type LightParts, lightParts } from '../../transports/http/light-response.ts'
import {
  bodyLength,
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
const requestOf = (task: ThreadTask): Request => {
  // The worker bounded the body already (it is all here): no second bound.
  const request = new IncomingRequest(
    messageOf(task),
    new QuietSignal(),
    Number.POSITIVE_INFINITY,
    task.url,
  ) as unknown as Request
  attachClient(request, task.client)
  return request
}

/** No body is written for these, and the Content-Length is the app's to say. */
const bodiless = (method: string, status: number) =>
  method === 'HEAD' || status === 204 || status === 304 || status < 200

/**
 * The head as the worker writes it: the app's headers, flat, and the length of the body
 * written. A light response nobody asked headers of has one at most: its content type.
 */
const headOf = (
  task: ThreadTask,
  response: Response,
  parts: LightParts | undefined,
  body: Uint8Array | string,
  hasBody: boolean,
): string[] => {
  const flat: string[] = []
  if (parts && !parts.headers) {
    if (parts.contentType) flat.push('content-type', parts.contentType)
  } else for (const [name, value] of response.headers) flat.push(name, value)
  const length = String(bodyLength(body))
  // Names sit at even places; Headers joins a repeated name (Set-Cookie aside), so one at most.
  let named = -1
  for (let i = 0; i < flat.length && named < 0; i += 2) if (flat[i] === 'content-length') named = i
  const status = response.status
  if (!bodiless(task.method, status)) {
    // The length written is the body's, whatever the app said.
    if (named >= 0) flat[named + 1] = length
    else flat.push('content-length', length)
  }
  // HEAD: the worker writes no body and so frames none; the length is the one a GET would get
  // (none when the app answered without a body, as Hono's HEAD does).
  else if (task.method === 'HEAD' && hasBody && !bodiless('GET', status) && named < 0)
    flat.push('content-length', length)
  return flat
}

/** One request of a batch; an app failure becomes an answer of its own, not the batch's. */
const answer = async (task: ThreadTask): Promise<ThreadAnswerOut> => {
  try {
    app ??= loadApp(data.app)
    const { fetch } = await app
    const response = await fetch!(requestOf(task), ctx)
    const parts = lightParts(response)
    const kept = parts?.body
    const hasBody = kept === undefined ? response.body !== null : kept !== null
    const body: Uint8Array | string =
      kept === undefined ? new Uint8Array(await response.arrayBuffer()) : kept === null ? '' : kept
    return {
      head: {
        status: response.status,
        statusText: response.statusText,
        headers: headOf(task, response, parts, body, hasBody),
      },
      body,
    }
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
