/**
 * A uwsgi request served without node:http's parser: the packet's vars already say everything
 * a head would (method, target, headers), so the worker builds node:http's own request and
 * response objects from them, as node:http would after parsing, and hands them to the server's
 * 'request' listeners. Writing an HTTP head for node:http to parse again, and node:http's
 * per-connection machinery, cost about a third of a uwsgi connection's CPU (nginx opens one
 * per request). An upgrade (WebSocket) still goes through node:http (`readUwsgiRequest`'s
 * put-back head), which owns that protocol switch.
 */
import type * as http from 'node:http'
import type { Socket } from 'node:net'
import { nodeHttp } from '../http/node-http.ts'
import type { UwsgiRequest } from './uwsgi-request.ts'

type Incoming = http.IncomingMessage & {
  _addHeaderLines(headers: readonly string[], n: number): void
  _dump(): void
}

/**
 * The request and response for `request`, whose body is `contentLength` bytes: `rest` (read
 * with the packet), then the socket's. The response is never chunked; the worker makes it
 * nginx's kind (`uwsgiResponse`) as it does every response of a uwsgi connection. Once it is
 * finished the connection closes, and the response says 'close' as node:http's would.
 */
export const uwsgiExchange = (
  socket: Socket,
  request: UwsgiRequest,
  rest: Buffer,
  Response: typeof http.ServerResponse,
): { req: http.IncomingMessage; res: http.ServerResponse } => {
  const req = new nodeHttp.IncomingMessage(socket) as Incoming
  req.method = request.method
  req.url = request.url
  req.httpVersion = request.httpVersion
  req.httpVersionMajor = 1
  req.httpVersionMinor = request.httpVersion === '1.0' ? 0 : 1
  req._addHeaderLines(request.rawHeaders as string[], request.rawHeaders.length)
  feedBody(socket, req, request.contentLength, rest)

  const res = new Response(req)
  // Unknown length: delimited by the close, never chunked (nginx's uwsgi module does not decode it).
  res.useChunkedEncodingByDefault = false
  res.assignSocket(socket)
  res.on('finish', () => {
    res.detachSocket(socket)
    // An unread body has no reader left: drop it rather than hold the connection.
    if (!req.complete) req._dump()
    ;(socket as Socket & { destroySoon(): void }).destroySoon()
    process.nextTick(() => res.emit('close'))
  })
  // The client left first: the request is aborted, as node:http says it.
  socket.once('close', () => {
    if (!req.complete) req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
  })
  return { req, res }
}

/** Pushes exactly `length` body bytes into `req`, pausing the socket while the app does not read. */
const feedBody = (socket: Socket, req: Incoming, length: number, rest: Buffer): void => {
  let left = length
  const take = (chunk: Buffer): boolean => {
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk
    left -= part.length
    const more = part.length === 0 || req.push(part)
    if (left === 0) {
      socket.off('data', onData)
      req.complete = true
      req.push(null)
    }
    return more
  }
  const onData = (chunk: Buffer): void => {
    // IncomingMessage resumes the socket when the app reads again (its _read).
    if (!take(chunk)) socket.pause()
  }
  if (left === 0) {
    req.complete = true
    req.push(null)
    return
  }
  const more = rest.length === 0 || take(rest)
  if (left === 0) return
  socket.on('data', onData)
  // Else the app has not read yet: IncomingMessage resumes the socket when it does.
  if (more) socket.resume()
}
