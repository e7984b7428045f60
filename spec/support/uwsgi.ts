/**
 * uwsgi for tests: packets as nginx's uwsgi_pass builds them (uwsgi-packets.ts), and a real
 * server that reads the packet with readUwsgiRequest and hands the connection to a real
 * node:http server, as a worker does. Everything it starts is closed when the test ends.
 */
import http from 'node:http'
import net from 'node:net'
import { onTestFinished } from 'vitest'
import type { UwsgiPacketError } from '../../runtime/errors.ts'
import type { UwsgiLimits } from '../../transports/uwsgi/uwsgi-packet.ts'
import { readUwsgiRequest } from '../../transports/uwsgi/uwsgi-reader.ts'
import type { UwsgiRequest } from '../../transports/uwsgi/uwsgi-request.ts'

export { encodeVar, nginxVars, packetOf, uwsgiPacket, type Vars } from './uwsgi-packets.ts'

export interface UwsgiTestServer {
  readonly port: number
  /** The node:http server the connections are handed to (for its 'upgrade' event). */
  readonly http: http.Server
  /** What readUwsgiRequest answered, one entry per connection, in order. */
  readonly results: Array<UwsgiRequest | UwsgiPacketError>
  /** Settles with the next answer readUwsgiRequest gives. */
  next(): Promise<UwsgiRequest | UwsgiPacketError>
}

/**
 * A uwsgi listener on 127.0.0.1:0 in front of a node:http server running `handler`. A refused
 * connection is closed, as the worker closes it.
 */
export const uwsgiTestServer = async (
  handler: http.RequestListener,
  options: { limits?: UwsgiLimits; timeoutMs?: number } = {},
): Promise<UwsgiTestServer> => {
  const limits = options.limits ?? { maxVarsSize: 65535, maxVars: 512 }
  const httpServer = http.createServer(handler)
  const results: Array<UwsgiRequest | UwsgiPacketError> = []
  const waiting: Array<(result: UwsgiRequest | UwsgiPacketError) => void> = []
  const sockets = new Set<net.Socket>()
  const listener = net.createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    readUwsgiRequest(socket, limits, options.timeoutMs ?? 10_000, (result) => {
      results.push(result)
      waiting.shift()?.(result)
      if (result instanceof Error) {
        socket.destroy()
        return
      }
      httpServer.emit('connection', socket)
      socket.resume()
    })
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy()
    httpServer.closeAllConnections()
    await new Promise((resolve) => listener.close(resolve))
  })
  let seen = 0
  return {
    port: (listener.address() as net.AddressInfo).port,
    http: httpServer,
    results,
    next: () => {
      const index = seen++
      const result = results[index]
      if (result !== undefined) return Promise.resolve(result)
      return new Promise((resolve) => waiting.push(resolve))
    },
  }
}
