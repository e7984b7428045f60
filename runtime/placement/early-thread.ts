/**
 * Worker threads started before the master needs them, so a thread's boot (Node's bootstrap for
 * the thread, the actor-child entry, the http worker's modules: ~25 ms floor, ~38 ms in all here)
 * overlaps the master's own start (its control plane and the app's check) on the other core,
 * instead of following it. `troupe serve` starts them once it knows the config asks for default
 * thread workers; the first incarnations take them (incarnation.ts), and any left unused end
 * after a few seconds.
 *
 * Only the default shape is started early (no resource limits, no environment of its own): a
 * thread's shape is fixed when it is created. The first starts before the config is read
 * (early-start.ts); the config then says whether it is wanted, and how many more.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import { actorChildEntry } from '../entries.ts'

export interface EarlyThread {
  readonly worker: Worker
  /** The master's end of the thread's lifeline (incarnation.ts). */
  readonly lifeline: MessagePort
}

interface Waiting extends EarlyThread {
  failed: boolean
}

const waiting: Waiting[] = []

/** How long an early thread waits to be taken before it ends, ms. */
const UNUSED_AFTER_MS = 10_000

/**
 * Starts `count` threads of the default shape, each importing `preload` (module URLs: the http
 * worker's entry, the app) as soon as it runs, so the modules are loaded when its actor starts.
 */
export const startEarlyThreads = (count: number, preload: readonly string[]): void => {
  for (let i = 0; i < count; i++) {
    const channel = new MessageChannel()
    channel.port1.unref()
    const worker = new Worker(actorChildEntry, {
      workerData: { lifeline: channel.port2, preload },
      transferList: [channel.port2],
      execArgv: [],
      name: 'troupe worker',
    })
    // Unreferenced until taken: a master that fails to start is not kept up by it.
    worker.unref()
    const thread: Waiting = { worker, lifeline: channel.port1, failed: false }
    const failed = () => {
      thread.failed = true
    }
    worker.on('error', failed)
    worker.on('exit', failed)
    waiting.push(thread)
  }
  setTimeout(() => {
    for (const thread of waiting.splice(0)) void thread.worker.terminate()
  }, UNUSED_AFTER_MS).unref()
}

/** Threads started early and not taken yet. */
export const earlyThreads = (): number => waiting.length

/** Ends the threads not taken (the config asks for another shape, or for processes). */
export const endEarlyThreads = (): void => {
  for (const thread of waiting.splice(0)) void thread.worker.terminate()
}

/** An early thread still booting or booted, now the caller's; none if none is left. */
export const takeEarlyThread = (): EarlyThread | undefined => {
  for (let thread = waiting.shift(); thread; thread = waiting.shift()) {
    if (thread.failed) continue
    thread.worker.removeAllListeners('error')
    thread.worker.removeAllListeners('exit')
    thread.worker.ref()
    return thread
  }
  return undefined
}
