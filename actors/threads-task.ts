/**
 * A piscina pool thread of a `threads` worker: builds the web Request, runs the app's
 * fetch, moves the answer back. Loads the app once per thread.
 */

import { workerData } from 'node:worker_threads'
import { move } from 'piscina'
import { type AppContext, loadApp, type ResolvedApp } from '../apps/app.ts'
import { AppStyleError } from '../runtime/errors.ts'
import { toHeaders } from '../transports/http-fetch.ts'
import { encodeAnswer, type ThreadPoolData, type ThreadTask } from './threads-protocol.ts'

const data = workerData as ThreadPoolData
let app: Promise<ResolvedApp> | undefined

const ctx: AppContext = {
  worker: data.worker,
  actor: () => {
    throw new AppStyleError(
      'app actors are reached from coroutine workers; the threads kind does not relay them yet',
    )
  },
}

export default async function run(task: ThreadTask): Promise<unknown> {
  app ??= loadApp(data.app)
  const { fetch } = await app
  const init: RequestInit = { method: task.method, headers: toHeaders(task.rawHeaders) }
  if (task.body) init.body = task.body
  const response = await fetch!(new Request(task.url, init), ctx)
  const body = await response.arrayBuffer()
  const head = { status: response.status, statusText: response.statusText, headers: [...response.headers] }
  return move(encodeAnswer(head, body) as never)
}
