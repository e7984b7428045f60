/**
 * The master's end of the control socket: claims the path safely (socket-path.ts), answers
 * each connection's hello, then serves the control API to it with comlink. Bound as every
 * troupe Unix socket is (transports/http/listen.ts): under a private name, mode 0600, then
 * renamed into place — which also replaces a stale socket, or an upgraded master's old one,
 * in one step — and removed on close only while the path is still this socket.
 */
import net from 'node:net'
import { expose } from 'comlink'
import { socketEndpoint } from '../../../transports/control/comlink-endpoint.ts'
import { encodeFrame, readFrames } from '../../../transports/control/frames.ts'
import { closeListener, listen } from '../../../transports/http/listen.ts'
import { ControlSocketError } from '../../errors.ts'
import { CONTROL_PROTOCOL, type ControlApi, type InstanceInfo } from './api.ts'
import { probe } from './connect.ts'
import { type ClientHello, type MasterHello, mismatch, type Refusal } from './handshake.ts'
import { checkDirectory, existing } from './socket-path.ts'

export interface ControlOptions {
  readonly path: string
  /** The default path (its directory is made and must be 0700), as opposed to `--control PATH`. */
  readonly isDefault: boolean
  readonly version: string
  readonly instance: () => InstanceInfo
  readonly api: ControlApi
  readonly log: (line: string) => void
  /** The pid of the master this one upgrades (USR2): its live socket is replaced, not refused. */
  readonly replaces?: number
}

export interface ControlServer {
  readonly path: string
  close(): Promise<void>
}

/** Refuses a path another live master answers on; a stale socket is replaced when ours is renamed over it. */
export const claim = async (
  options: Pick<ControlOptions, 'path' | 'isDefault' | 'log' | 'replaces'>,
): Promise<void> => {
  const { path } = options
  checkDirectory(path, options.isDefault)
  const found = existing(path)
  if (found === 'other')
    throw new ControlSocketError(`control: ${path} exists and is not a socket; it is left alone`)
  if (found === 'none') return
  const hello = await probe(path)
  if (hello === undefined) {
    options.log(`control: replacing the stale socket ${path} (nothing answers on it)`)
    return
  }
  const who = hello === null ? 'something that is not a troupe master' : `master pid ${hello.instance.pid}`
  if (hello !== null && hello.instance.pid === options.replaces) return
  throw new ControlSocketError(
    `control: ${who} already answers on ${path}; stop it, or give this master another --name or --control`,
  )
}

export const openControl = async (options: ControlOptions): Promise<ControlServer> => {
  await claim(options)
  const { path } = options
  const connections = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    connections.add(socket)
    socket.once('close', () => connections.delete(socket))
    socket.on('error', () => {})
    serveConnection(socket, options)
  })
  // claim() vetted what is at the path: a stale socket or the one this master replaces.
  await listen(server, { kind: 'unix', path }, { backlog: 64, socketMode: 0o600, replace: true })
  return {
    path,
    close: async () => {
      const closed = closeListener(server)
      for (const socket of connections) socket.destroy()
      await closed
    },
  }
}

/** Hello first (ours, then theirs); from then on every frame is a comlink message. */
const serveConnection = (socket: net.Socket, options: ControlOptions): void => {
  const endpoint = socketEndpoint(socket)
  let greeted = false
  const hello: MasterHello = {
    troupe: 'control',
    protocol: CONTROL_PROTOCOL,
    version: options.version,
    instance: options.instance(),
  }
  socket.write(encodeFrame(hello))
  readFrames(socket, (frame) => {
    if (greeted) {
      endpoint.deliver(frame)
      return
    }
    const why = mismatch(frame as ClientHello, options.version, 'client')
    if (why) {
      socket.end(encodeFrame({ refused: why } satisfies Refusal))
      return
    }
    greeted = true
    expose(options.api, endpoint)
  })
}
