/**
 * The client end of the control socket: `connect()` finds the master (a path, a name, or the
 * only one running), checks the hello, and returns the remote master — every method of the
 * control API, typed, answering with promises. Calls pending when the master goes away are
 * rejected with a coded error, not left hanging.
 */
import net from 'node:net'
import { wrap } from 'comlink'
import { socketEndpoint } from '../../../transports/control/comlink-endpoint.ts'
import { encodeFrame, readFrames } from '../../../transports/control/frames.ts'
import { ControlUnreachableError, serializeError } from '../../errors.ts'
import { troupeVersion } from '../version.ts'
import { CONTROL_PROTOCOL, type ControlApi, type InstanceInfo } from './api.ts'
import {
  type ClientHello,
  isHello,
  isRefusal,
  type MasterHello,
  mismatch,
  protocolError,
} from './handshake.ts'
import { controlDirectory, defaultControlPath, socketsInDirectory } from './socket-path.ts'

export interface ConnectOptions {
  /** The control socket's path (`--control`). */
  readonly control?: string
  /** The master's `--name` (its socket in the control directory). */
  readonly name?: string
  /** How long to wait for the master's hello, ms (default 5000). */
  readonly timeoutMs?: number
}

type Promised<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never
}

/** A running master, steered from another process. */
export interface RemoteMaster extends Promised<ControlApi> {
  readonly path: string
  /** Who the master said it is when the connection opened. */
  readonly instance: InstanceInfo
  /** Resolves when the connection ends (the master stopped, or `close()`). */
  readonly closed: Promise<void>
  close(): void
}

const methods = [
  'info',
  'tree',
  'stats',
  'reload',
  'scale',
  'kill',
  'restart',
  'stop',
  'setLogLevel',
] as const satisfies readonly (keyof ControlApi)[]

/**
 * Opens `path` and reads the master's hello. undefined: nothing listens there (a stale
 * socket); null: something answered that is not a troupe master.
 */
export const probe = (path: string, timeoutMs = 2_000): Promise<MasterHello | null | undefined> =>
  new Promise((resolve) => {
    const socket = net.connect(path)
    const done = (value: MasterHello | null | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(value)
    }
    const timer = setTimeout(() => done(null), timeoutMs)
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'EACCES' ? null : undefined))
    readFrames(socket, (frame) => done(isHello(frame) && 'instance' in frame ? (frame as MasterHello) : null))
  })

/** The instances answering in the control directory (`troupe ls`). */
export const listInstances = async (dir = controlDirectory()): Promise<InstanceInfo[]> => {
  const paths = socketsInDirectory(dir)
  const hellos = await Promise.all(paths.map((path) => probe(path)))
  // Listed by the path they answered on, whatever they say of themselves.
  return hellos.flatMap((hello, i) => (hello ? [{ ...hello.instance, control: paths[i]! }] : []))
}

/** The path to connect to: the one given, the named one, or the only master running. */
const locate = async (options: ConnectOptions): Promise<string> => {
  if (options.control) return options.control
  if (options.name) return defaultControlPath(options.name)
  const dir = controlDirectory()
  const running = await listInstances(dir)
  if (running.length === 1 && running[0]!.control) return running[0]!.control
  if (running.length === 0)
    throw new ControlUnreachableError(
      `no running troupe master found in ${dir} (is one serving? pass --control PATH for a socket elsewhere)`,
    )
  const names = running.map((i) => `${i.name ?? '(unnamed)'} pid ${i.pid}`).join(', ')
  throw new ControlUnreachableError(
    `${running.length} masters are running (${names}): pick one with --name or --control`,
  )
}

const open = (path: string): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(path)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EACCES'
          ? 'permission denied: the socket belongs to another user'
          : error.code === 'ECONNREFUSED' || error.code === 'ENOENT'
            ? 'no master is running there'
            : (error.code ?? error.message)
      reject(new ControlUnreachableError(`control socket ${path}: ${why}`, { cause: error }))
    })
  })

export const connect = async (options: ConnectOptions = {}): Promise<RemoteMaster> => {
  const path = await locate(options)
  const socket = await open(path)
  socket.on('error', () => {})
  const endpoint = socketEndpoint(socket)
  // comlink has no notion of a closed endpoint: calls in flight are answered here when it closes.
  const pending = new Set<string>()
  const post = endpoint.postMessage.bind(endpoint)
  const answerGone = (id: string) =>
    endpoint.deliver({
      id,
      type: 'HANDLER',
      name: 'throw',
      value: serializeError(
        new ControlUnreachableError(`control socket ${path}: the master closed the connection`),
      ),
    })
  endpoint.postMessage = (message: { id?: string }) => {
    const { id } = message
    // Asked after the connection ended: answered at once rather than never.
    if (socket.destroyed) {
      if (id !== undefined) queueMicrotask(() => answerGone(id))
      return
    }
    if (id !== undefined) pending.add(id)
    post(message)
  }
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  let greeted: (hello: MasterHello) => void = () => {}
  let refused: (error: Error) => void = () => {}
  const hello = new Promise<MasterHello>((resolve, reject) => {
    greeted = resolve
    refused = reject
  })
  const timer = setTimeout(
    () => refused(new ControlUnreachableError(`control socket ${path}: the master did not say hello`)),
    options.timeoutMs ?? 5_000,
  )
  let open_ = false
  readFrames(socket, (frame) => {
    if (open_) {
      pending.delete((frame as { id?: string }).id ?? '')
      endpoint.deliver(frame)
      return
    }
    if (isRefusal(frame)) return refused(protocolError(frame.refused))
    const why = mismatch(frame, troupeVersion(), 'master')
    if (why) return refused(protocolError(why))
    open_ = true
    greeted(frame as MasterHello)
  })
  void closed.then(() => {
    refused(new ControlUnreachableError(`control socket ${path}: the master closed the connection`))
    for (const id of pending) answerGone(id)
    pending.clear()
  })
  let instance: InstanceInfo
  try {
    instance = (await hello).instance
  } catch (error) {
    socket.destroy()
    throw error
  } finally {
    clearTimeout(timer)
  }
  socket.write(
    encodeFrame({
      troupe: 'control',
      protocol: CONTROL_PROTOCOL,
      version: troupeVersion(),
    } satisfies ClientHello),
  )
  const remote = wrap<ControlApi>(endpoint) as unknown as Record<
    string,
    (...args: unknown[]) => Promise<unknown>
  >
  const master = Object.fromEntries(methods.map((m) => [m, (...args: unknown[]) => remote[m]!(...args)]))
  return Object.freeze({
    ...(master as unknown as Promised<ControlApi>),
    path,
    instance,
    closed,
    close: () => socket.destroy(),
  })
}
