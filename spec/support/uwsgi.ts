/**
 * uwsgi for tests: packets as nginx's uwsgi_pass builds them, and a real server that reads the
 * packet with readUwsgiRequest and hands the connection to a real node:http server, as a
 * worker does. Everything it starts is closed when the test ends.
 */
import http from 'node:http'
import net from 'node:net'
import { onTestFinished } from 'vitest'
import type { UwsgiPacketError } from '../../runtime/errors.ts'
import type { UwsgiLimits } from '../../transports/uwsgi/uwsgi-packet.ts'
import { readUwsgiRequest } from '../../transports/uwsgi/uwsgi-reader.ts'
import type { UwsgiRequest } from '../../transports/uwsgi/uwsgi-request.ts'

export type Vars = ReadonlyArray<readonly [string, string]>

/** One var's bytes: u16 LE key length, key, u16 LE value length, value (latin1). */
export const encodeVar = (key: string, value: string): Buffer => {
  const k = Buffer.from(key, 'latin1')
  const v = Buffer.from(value, 'latin1')
  const out = Buffer.alloc(4 + k.length + v.length)
  out.writeUInt16LE(k.length, 0)
  k.copy(out, 2)
  out.writeUInt16LE(v.length, 2 + k.length)
  v.copy(out, 4 + k.length)
  return out
}

/** A vars block with its 4-byte header; `datasize` overrides the true size. */
export const packetOf = (
  block: Buffer,
  options: { modifier1?: number; modifier2?: number; datasize?: number } = {},
): Buffer => {
  const header = Buffer.alloc(4)
  header[0] = options.modifier1 ?? 0
  header.writeUInt16LE(options.datasize ?? block.length, 1)
  header[3] = options.modifier2 ?? 0
  return Buffer.concat([header, block])
}

/** A whole uwsgi packet carrying `vars`. */
export const uwsgiPacket = (vars: Vars, options: { modifier1?: number; modifier2?: number } = {}): Buffer =>
  packetOf(Buffer.concat(vars.map(([k, v]) => encodeVar(k, v))), options)

/** The vars nginx's stock uwsgi_params sends for a request, with the client's headers after. */
export const nginxVars = (
  request: { method?: string; uri?: string; body?: number; contentType?: string },
  headers: Vars = [],
): Array<[string, string]> => {
  const uri = request.uri ?? '/'
  const [path, query = ''] = uri.split('?') as [string, string?]
  return [
    ['QUERY_STRING', query],
    ['REQUEST_METHOD', request.method ?? 'GET'],
    ['CONTENT_TYPE', request.contentType ?? ''],
    ['CONTENT_LENGTH', request.body === undefined ? '' : String(request.body)],
    ['REQUEST_URI', uri],
    ['PATH_INFO', decodeURIComponent(path)],
    ['DOCUMENT_ROOT', '/usr/share/nginx/html'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REQUEST_SCHEME', 'http'],
    ['REMOTE_ADDR', '203.0.113.7'],
    ['REMOTE_PORT', '54321'],
    ['SERVER_PORT', '80'],
    ['SERVER_NAME', 'shop.example'],
    ...headers.map(([k, v]) => [k, v] as [string, string]),
  ]
}

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
