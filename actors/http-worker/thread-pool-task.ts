/**
 * A piscina pool thread of a `thread-pool` worker: builds the web Request, runs the app's
 * fetch, moves the answer back. Loads the app once per thread.
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
  encodeAnswer,
  type RelayCall,
  type RelayReply,
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

export default async function run(task: ThreadTask): Promise<unknown> {
  app ??= loadApp(data.app)
  const { fetch } = await app
  const init: RequestInit = { method: task.method, headers: toHeaders(task.rawHeaders) }
  if (task.body) init.body = task.body
  const request = new Request(task.url, init)
  attachClient(request, task.client)
  const response = await fetch!(request, ctx)
  const kept = lightParts(response)?.body
  const hasBody = kept === undefined ? response.body !== null : kept !== null
  const body =
    kept === undefined
      ? await response.arrayBuffer()
      : kept === null
        ? new ArrayBuffer(0)
        : typeof kept === 'string'
          ? new TextEncoder().encode(kept).buffer
          : (kept.buffer as ArrayBuffer)
  const headers = [...response.headers]
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
  const head = { status, statusText: response.statusText, headers }
  return move(encodeAnswer(head, body) as never)
}
