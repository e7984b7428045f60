/**
 * Entry of a thread or process that hosts one actor. Deliberately light: it loads the
 * actor host and the user's module, never the control plane (no Effect), so spawn-to-ready
 * stays short.
 */
import type { Transferable } from 'node:worker_threads'
import { isMainThread, type MessagePort, parentPort, workerData } from 'node:worker_threads'
import type { ExitReason } from '../exit.ts'
import { ActorHost, type HostPort } from './actor-host.ts'
import type { FromHost, ToHost } from './actor-protocol.ts'

const exitCodeFor = (reason: ExitReason): number => (reason.kind === 'crash' ? 1 : 0)

/**
 * A thread's end of its lifeline (incarnation.ts): held here for the thread's whole life, so only
 * the teardown closes it, and unref'd, so it never keeps the thread up.
 */
const data = isMainThread ? undefined : (workerData as { lifeline?: MessagePort; preload?: string[] } | null)
const lifeline = data?.lifeline
lifeline?.unref()
// A thread started early (early-thread.ts) loads what its actor will need while it waits for it;
// a failure here is the actor's to report when it imports the same module.
for (const url of data?.preload ?? []) import(url).catch(() => {})

let host: ActorHost | undefined
let heartbeat: NodeJS.Timeout | undefined

/** A spare process (placement/spare-process.ts) says so in ps until an actor takes it. */
const bornTitle = process.title
const spare = isMainThread && process.argv.includes('--spare')
if (spare) process.title = ['troupe: spare', process.env.TROUPE_NAME].filter(Boolean).join(' ')

const onMessage = (message: ToHost): void => {
  if (message.t === 'start') {
    if (host) return
    if (spare) process.title = bornTitle
    host = new ActorHost(port, message.path)
    if (message.heartbeatMs > 0) {
      const beat = () => {
        const usage = process.memoryUsage()
        port.send({ t: 'heartbeat', memory: { rss: usage.rss, heapUsed: usage.heapUsed } })
      }
      heartbeat = setInterval(beat, message.heartbeatMs)
      beat()
    }
    void host.start(message)
    return
  }
  host?.deliver(message)
}

const port: HostPort = isMainThread
  ? {
      send: (message: FromHost) => {
        // Transfer lists cannot cross IPC: the value is copied (documented in the README).
        process.send!(message)
      },
      exit: (reason, processed) => {
        clearInterval(heartbeat)
        // Exit only once the IPC queue has flushed, or the parent never hears the reason.
        process.send!({ t: 'exit', reason, processed } satisfies FromHost, () =>
          process.exit(exitCodeFor(reason)),
        )
      },
    }
  : {
      send: (message: FromHost, transfer?: readonly Transferable[]) =>
        parentPort!.postMessage(message, transfer ? [...transfer] : []),
      exit: (reason, processed) => {
        clearInterval(heartbeat)
        parentPort!.postMessage({ t: 'exit', reason, processed } satisfies FromHost)
        process.exit(exitCodeFor(reason))
      },
    }

if (isMainThread) {
  // A socket sent as the IPC handle goes back where the sender took it from.
  process.on('message', (message: ToHost, handle?: unknown) => {
    if (handle && (message.t === 'tell' || message.t === 'ask') && message.handleKey !== undefined) {
      const payload =
        message.handleKey === ''
          ? handle
          : { ...(message.payload as Record<string, unknown>), [message.handleKey]: handle }
      onMessage({ ...message, payload })
      return
    }
    onMessage(message)
  })
  // No orphans: when the parent dies, the IPC channel closes and this process goes with it.
  process.on('disconnect', () => process.exit(0))
} else {
  parentPort!.on('message', onMessage)
}
