/**
 * A piscina pool thread of a `thread-pool` worker: builds the web Request, runs the app's
 * fetch, moves the answer back. Loads the app once per thread.
 */
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads'
import { move } from 'piscina'
import { type AppContext, loadApp, type ResolvedApp } from '../../apps/app.ts'
import { PendingAsks } from '../../runtime/pending.ts'
import { makeRef } from '../../runtime/ref.ts'
import { installResponseCapture, rawBody, toHeaders } from '../../transports/http/http-fetch.ts'
import {
  encodeAnswer,
  type RelayCall,
  type RelayReply,
  type ThreadPoolData,
  type ThreadTask,
} from './thread-pool-protocol.ts'

const data = workerData as ThreadPoolData
let app: Promise<ResolvedApp> | undefined
installResponseCapture()

// App actors live under the master; a pool thread reaches them through its worker.
const relay = new BroadcastChannel(data.relay)
relay.unref()
const pending = new PendingAsks()
relay.onmessage = (event) => {
  const reply = (event as unknown as { data: RelayReply | RelayCall }).data
  if (reply.t === 'reply' && reply.thread === threadId)
    pending.settle(reply.id, reply.ok, reply.value, reply.error)
}

const ctx: AppContext = {
  worker: data.worker,
  actor: (definition) => {
    const path = `${data.actorsPath}/${definition.name}`
    return makeRef({
      path,
      tell: (type, payload) =>
        relay.postMessage({ t: 'call', id: 0, thread: threadId, path, type, payload } satisfies RelayCall),
      ask: (type, payload, options) =>
        pending.open(
          `"${type}" to ${path}`,
          { timeout: options?.timeout ?? 5_000, signal: options?.signal },
          (id) =>
            relay.postMessage({ t: 'call', id, thread: threadId, path, type, payload } satisfies RelayCall),
        ),
    })
  },
}

export default async function run(task: ThreadTask): Promise<unknown> {
  app ??= loadApp(data.app)
  const { fetch } = await app
  const init: RequestInit = { method: task.method, headers: toHeaders(task.rawHeaders) }
  if (task.body) init.body = task.body
  const response = await fetch!(new Request(task.url, init), ctx)
  const raw = rawBody(response)
  const body =
    raw === undefined
      ? await response.arrayBuffer()
      : typeof raw === 'string'
        ? new TextEncoder().encode(raw).buffer
        : raw instanceof ArrayBuffer
          ? raw
          : (raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer)
  const head = { status: response.status, statusText: response.statusText, headers: [...response.headers] }
  return move(encodeAnswer(head, body) as never)
}
