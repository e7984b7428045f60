/**
 * A piscina pool thread of a `threads` worker: builds the web Request, runs the app's
 * fetch, moves the answer back. Loads the app once per thread.
 */
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads'
import { move } from 'piscina'
import { type AppContext, loadApp, type ResolvedApp } from '../apps/app.ts'
import { AskTimeoutError, deserializeError } from '../runtime/errors.ts'
import { makeRef } from '../runtime/ref.ts'
import { installResponseCapture, rawBody, toHeaders } from '../transports/http-fetch.ts'
import {
  encodeAnswer,
  type RelayCall,
  type RelayReply,
  type ThreadPoolData,
  type ThreadTask,
} from './threads-protocol.ts'

const data = workerData as ThreadPoolData
let app: Promise<ResolvedApp> | undefined
installResponseCapture()

// App actors live under the master; a pool thread reaches them through its worker.
const relay = new BroadcastChannel(data.relay)
relay.unref()
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
let nextId = 1
relay.onmessage = (event) => {
  const reply = (event as unknown as { data: RelayReply | RelayCall }).data
  if (reply.t !== 'reply' || reply.thread !== threadId) return
  const call = pending.get(reply.id)
  if (!call) return
  pending.delete(reply.id)
  if (reply.ok) call.resolve(reply.value)
  else call.reject(deserializeError(reply.error!))
}

const askThroughWorker = (path: string, type: string, payload: unknown, timeout: number) =>
  new Promise((resolve, reject) => {
    const id = nextId++
    const timer = setTimeout(() => {
      pending.delete(id)
      reject(new AskTimeoutError(`no reply to "${type}" from ${path} within ${timeout} ms`))
    }, timeout)
    pending.set(id, {
      resolve: (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      reject: (error) => {
        clearTimeout(timer)
        reject(error)
      },
    })
    relay.postMessage({ t: 'call', id, thread: threadId, path, type, payload } satisfies RelayCall)
  })

const ctx: AppContext = {
  worker: data.worker,
  actor: (definition) => {
    const path = `${data.actorsPath}/${definition.name}`
    return makeRef({
      path,
      tell: (type, payload) =>
        relay.postMessage({ t: 'call', id: 0, thread: threadId, path, type, payload } satisfies RelayCall),
      ask: (type, payload, options) => askThroughWorker(path, type, payload, options?.timeout ?? 5_000),
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
