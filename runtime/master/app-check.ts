/**
 * Thread entry: imports the app and checks it fits the worker kind, then reports and ends.
 * A reload checks the new code here rather than in the master: a thread has a module cache
 * of its own, so a module that failed to load (the app or any file it imports) is loaded
 * afresh next time, and the master does not keep every generation's modules (nor what they
 * opened at import) for the rest of its life.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { assertKindFits, loadApp } from '../../apps/app.ts'
import { serializeError } from '../errors.ts'

export interface AppCheckData {
  readonly url: string
  readonly kind: 'coroutine' | 'thread-pool'
}

const { url, kind } = workerData as AppCheckData
try {
  const app = await loadApp(url)
  assertKindFits(app, kind)
  parentPort!.postMessage({ ok: true, style: app.style })
} catch (error) {
  parentPort!.postMessage({ ok: false, error: serializeError(error) })
}
