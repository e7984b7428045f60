/**
 * A piscina pool thread of a `thread-pool` worker: builds the web Requests of a batch, runs
 * the app's fetch on each, moves the answers back together. Loads the app once per thread.
 */
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads'
import { move } from 'piscina'
import { type AppContext, loadApp, type ResolvedApp } from '../../apps/app.ts'
import { Caller } from '../../runtime/calls.ts'
import { makeRef } from '../../runtime/ref.ts'
import { attachClient } from '../../transports/http/client.ts'
import { installFetchGlobals, toHeaders } from '../../transports/http/http-fetch.ts'
import { lightParts } from '../../transports/http/light-response.ts'
import {
  encodeAnswers,
  type RelayCall,
  type RelayReply,
  type ThreadAnswer,
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

/** One request of a batch; an app failure becomes an answer of its own, not the batch's. */
const answer = async (task: ThreadTask): Promise<ThreadAnswer> => {
  try {
    app ??= loadApp(data.app)
    const { fetch } = await app
    const init: RequestInit = { method: task.method, headers: toHeaders(task.rawHeaders) }
    if (task.body) init.body = task.body
    const request = new Request(task.url, init)
    attachClient(request, task.client)
    const response = await fetch!(request, ctx)
    const parts = lightParts(response)
    const kept = parts?.body
    const hasBody = kept === undefined ? response.body !== null : kept !== null
    const body =
      kept === undefined
        ? new Uint8Array(await response.arrayBuffer())
        : kept === null
          ? new Uint8Array(0)
          : typeof kept === 'string'
            ? encoder.encode(kept)
            : kept
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
      headers.push(['content-length', String(body.byteLength)])
    return { head: { status, statusText: response.statusText, headers }, body }
  } catch (error) {
    const stack = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error)
    return { head: { status: 500, statusText: '', headers: [], error: stack }, body: new Uint8Array(0) }
  }
}

const encoder = new TextEncoder()

/** A batch of requests, one after the other: a pool thread runs one request at a time. */
export default async function run(tasks: readonly ThreadTask[]): Promise<unknown> {
  const answers: ThreadAnswer[] = []
  for (const task of tasks) answers.push(await answer(task))
  return move(encodeAnswers(answers) as never)
}
