/**
 * The master's end of the control socket: claims the path safely (socket-path.ts), answers
 * each connection's hello, then serves the control API to it with comlink. Mode 0600 from
 * the moment the path exists: the socket is bound under a temporary name, restricted, then
 * renamed into place — which also replaces a stale socket, or an upgraded master's old one,
 * in one step.
 */
import { chmodSync, renameSync, rmSync, unlinkSync } from 'node:fs'
import net from 'node:net'
import { expose } from 'comlink'
import { socketEndpoint } from '../../../transports/control/comlink-endpoint.ts'
import { encodeFrame, readFrames } from '../../../transports/control/frames.ts'
import { ControlSocketError } from '../../errors.ts'
import { CONTROL_PROTOCOL, type ControlApi, type InstanceInfo } from './api.ts'
import { probe } from './connect.ts'
import { type ClientHello, type MasterHello, mismatch, type Refusal } from './handshake.ts'
import { checkDirectory, existing, inodeOf } from './socket-path.ts'

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
  const temporary = `${path}.${process.pid}.tmp`
  rmSync(temporary, { force: true })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(temporary, () => {
      server.off('error', reject)
      resolve()
    })
  })
  chmodSync(temporary, 0o600)
  renameSync(temporary, path)
  const inode = inodeOf(path)
  return {
    path,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve))
      for (const socket of connections) socket.destroy()
      await closed
      // An upgraded master may have put its own socket here meanwhile: remove only ours.
      if (inode !== undefined && inodeOf(path) === inode) {
        try {
          unlinkSync(path)
        } catch {}
      }
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
