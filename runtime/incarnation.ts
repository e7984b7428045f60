/**
 * One life of an actor in its placement: the thread, the child process, or the in-loop
 * host. The cell above it outlives restarts; an incarnation is thrown away when it exits.
 */

import { Server, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Transferable } from 'node:worker_threads'
import { MessageChannel, MessagePort, type ResourceLimits, Worker } from 'node:worker_threads'
import type { ActorDefinition, Placement } from './actor.ts'
import { actorChildEntry } from './entries.ts'
import { serializeError } from './errors.ts'
import type { ExitReason } from './exit.ts'
import { ActorHost } from './placement/actor-host.ts'
import type { FromHost, StartMessage, ToHost } from './placement/actor-protocol.ts'
import { takeEarlyThread } from './placement/early-thread.ts'
import { forkActorChild } from './placement/spare-process.ts'

/** What the placement saw when its thread/process ended (the host's own reason, when it sent one, wins). */
export interface PlacementExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly error?: Error
}

export interface IncarnationEvents {
  message(message: FromHost): void
  /**
   * The incarnation can take no more messages: its thread is being torn down (it ran out of
   * heap, or crashed). `exit` follows, but only once the teardown is done — measured up to
   * 250 ms later — and a socket sent meanwhile would be closed unserved.
   */
  lost?(): void
  exit(exit: PlacementExit): void
}

export interface Incarnation {
  readonly pid: number
  readonly threadId: number | null
  post(message: ToHost, transfer?: readonly Transferable[]): void
  /** Forced end: `terminate()` for a thread, SIGKILL for a process. */
  kill(): void
}

export interface PlacementOptions {
  /** Thread placement: V8 heap limits; past them the thread ends with exit reason `memory`. */
  readonly resourceLimits?: ResourceLimits
  /** Process placement: extra Node flags, e.g. `--max-old-space-size=256`. */
  readonly execArgv?: readonly string[]
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * Process placement: keep a booted process of the same flags and environment waiting, so the
   * next start (a restart after a crash) skips Node's start-up (placement/spare-process.ts).
   */
  readonly spare?: boolean
}

export const startIncarnation = (
  placement: Placement,
  definition: ActorDefinition,
  start: StartMessage,
  options: PlacementOptions,
  events: IncarnationEvents,
): Incarnation => {
  switch (placement) {
    case 'local':
      return startLocal(definition, start, events)
    case 'thread':
      return startThread(start, options, events)
    case 'process':
      return startProcess(start, options, events)
  }
}

const startLocal = (
  definition: ActorDefinition,
  start: StartMessage,
  events: IncarnationEvents,
): Incarnation => {
  let alive = true
  // Deliveries go through a microtask so that a local actor is as asynchronous as a remote one:
  // a sender never runs the receiver's handler inside its own call stack.
  const host = new ActorHost(
    {
      send: (message, transfer) => {
        if (!alive) return
        const copy = moveLocally(message, transfer)
        queueMicrotask(() => alive && events.message(copy))
      },
      exit: (reason: ExitReason, processed: number) => {
        if (!alive) return
        queueMicrotask(() => {
          if (!alive) return
          events.message({ t: 'exit', reason, processed })
          alive = false
          events.exit({ code: reason.kind === 'crash' ? 1 : 0, signal: null })
        })
      },
    },
    start.path,
  )
  queueMicrotask(() => void host.start(start, definition))
  return {
    pid: process.pid,
    threadId: null,
    post: (message, transfer) => {
      if (!alive) return
      // Moving buffers detaches them on the sender's side exactly as a thread would.
      const copy = moveLocally(message, transfer)
      queueMicrotask(() => host.deliver(copy))
    },
    kill: () => {
      if (!alive) return
      alive = false
      queueMicrotask(() => events.exit({ code: null, signal: 'SIGKILL' }))
    },
  }
}

const startThread = (
  start: StartMessage,
  options: PlacementOptions,
  events: IncarnationEvents,
): Incarnation => {
  // The lifeline: the thread holds one end and never uses it. Its teardown closes that end before
  // the Worker's exit event can fire, which is the first sign in this thread that it is gone.
  // One started early (early-thread.ts) has booted meanwhile; only the default shape is.
  const early = options.resourceLimits || options.env ? undefined : takeEarlyThread()
  let lifelineEnd: MessagePort
  let worker: Worker
  if (early) ({ worker, lifeline: lifelineEnd } = early)
  else {
    const lifeline = new MessageChannel()
    lifeline.port1.unref()
    lifelineEnd = lifeline.port1
    worker = new Worker(actorChildEntry, {
      workerData: { lifeline: lifeline.port2 },
      transferList: [lifeline.port2],
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
      execArgv: [],
      name: `troupe ${start.path}`,
    })
  }
  lifelineEnd.once('close', () => events.lost?.())
  let error: Error | undefined
  worker.on('message', (message: FromHost) => events.message(message))
  worker.on('error', (err: Error) => {
    error = err
  })
  worker.on('exit', (code) => {
    lifelineEnd.close()
    events.exit({ code, signal: null, ...(error ? { error } : {}) })
  })
  worker.postMessage(start)
  return {
    pid: process.pid,
    threadId: worker.threadId,
    post: (message, transfer) => worker.postMessage(message, transfer as Transferable[] | undefined),
    kill: () => void worker.terminate(),
  }
}

const startProcess = (
  start: StartMessage,
  options: PlacementOptions,
  events: IncarnationEvents,
): Incarnation => {
  const child = forkActorChild(
    { entry: fileURLToPath(actorChildEntry), execArgv: options.execArgv ?? [], env: options.env },
    options.spare === true,
  )
  let error: Error | undefined
  child.on('message', (message: FromHost) => events.message(message))
  child.on('error', (err) => {
    error = err
  })
  child.on('exit', (code, signal) => events.exit({ code, signal, ...(error ? { error } : {}) }))
  // The IPC pipe may break while the child dies; the exit event carries the story.
  child.channel?.on?.('error', () => {})
  child.send(start)
  return {
    pid: child.pid ?? -1,
    threadId: null,
    post: (message, transfer) => {
      const handle = transfer?.find((t) => t instanceof Socket || t instanceof Server || isNativeHandle(t)) as
        | Socket
        | Server
        | undefined
      if (handle && (message.t === 'tell' || message.t === 'ask')) {
        // A socket must not stay behind in the parent, open and unserved: refuse now if the
        // channel is gone (the sender can try another actor), destroy it if the send fails later.
        // A listening socket's own handle stays the sender's: the child gets a descriptor of its own.
        if (!child.connected) throw new Error('the IPC channel closed; the handle was not sent')
        child.send(withoutHandle(message, handle), handle, { keepOpen: isNativeHandle(handle) }, (error) => {
          if (error && handle instanceof Socket) handle.destroy()
        })
        return
      }
      if (child.connected) child.send(message)
      if (transfer && transfer.length > 0) detach(transfer)
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/** A libuv handle itself (a listening socket's, as the acceptor shares it), not a net object. */
const isNativeHandle = (t: unknown): boolean =>
  typeof t === 'object' &&
  t !== null &&
  typeof (t as { fd?: unknown }).fd === 'number' &&
  !(t instanceof MessagePort)

/** IPC carries one handle beside the message; take it out of the payload and say where it was. */
const withoutHandle = (message: Extract<ToHost, { t: 'tell' | 'ask' }>, handle: unknown): ToHost => {
  if (message.payload === handle) return { ...message, payload: null, handleKey: '' }
  const payload = { ...(message.payload as Record<string, unknown>) }
  const key = Object.keys(payload).find((k) => payload[k] === handle)
  if (key === undefined) return message
  delete payload[key]
  return { ...message, payload, handleKey: key }
}

/**
 * In the same isolate nothing needs copying, but moved buffers are detached exactly as a
 * thread would see them. Sockets are simply handed over.
 */
const moveLocally = <M>(message: M, transfer: readonly Transferable[] | undefined): M => {
  if (!transfer || transfer.length === 0) return message
  const movable = transfer.filter((t) => !(t instanceof Socket || t instanceof Server))
  if (movable.length === 0) return message
  return structuredClone(message, { transfer: movable as never })
}

/** The exit reason a placement's own report implies, when the host sent none (it died first). */
export const exitFromPlacement = (exit: PlacementExit): ExitReason => {
  const code = (exit.error as { code?: string } | undefined)?.code
  if (code === 'ERR_WORKER_OUT_OF_MEMORY')
    return { kind: 'memory', detail: exit.error?.message ?? 'the thread ran out of heap' }
  if (exit.signal) return { kind: 'killed', signal: exit.signal }
  if (exit.error)
    return { kind: 'crash', error: serializeError(exit.error), ...(exit.code ? { exitCode: exit.code } : {}) }
  if (exit.code === 0) return { kind: 'normal' }
  return {
    kind: 'crash',
    error: { name: 'Error', message: `exited with code ${exit.code}` },
    ...(exit.code === null ? {} : { exitCode: exit.code }),
  }
}

/** IPC copies; detaching keeps "a moved buffer is gone from the sender" true in every placement. */
const detach = (transfer: readonly Transferable[]): void => {
  for (const item of transfer) {
    if (item instanceof ArrayBuffer && !item.detached) item.transfer()
  }
}
