/**
 * HTTP/2 beside HTTP/1.1 on the same binds. A worker decides per connection which server
 * takes it: on an https:// bind by what the TLS handshake agreed (ALPN), on a plain bind by
 * the first bytes (the HTTP/2 preface, "prior knowledge" h2c). node:http2 does the protocol;
 * its compatibility API gives Node-style apps `(req, res)`, and fetch apps are served as over
 * HTTP/1.1.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import type * as http2 from 'node:http2'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { forwardedOf } from './client.ts'
import { rawHeader } from './raw-header.ts'

/** What every HTTP/2 client sends first (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

/**
 * Reads a plain connection's first bytes and says whether they are the HTTP/2 preface. The
 * bytes go back into the socket (unshift), so whichever server takes it reads them as its own.
 * A client that sends nothing for `timeoutMs` is cut, as node:http's headers timeout would.
 */
export const sniffPreface = (socket: Duplex, timeoutMs: number, then: (h2: boolean) => void): void => {
  let seen: Buffer | undefined
  const onData = (chunk: Buffer) => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk
    const n = Math.min(seen.length, PREFACE.length)
    const prefix = seen.compare(PREFACE, 0, n, 0, n) === 0
    // "PRI * HT" so far: wait for the rest before deciding.
    if (prefix && n < PREFACE.length) return
    stop()
    socket.pause()
    socket.unshift(seen)
    then(prefix)
  }
  const timer = setTimeout(() => socket.destroy(), timeoutMs)
  const stop = () => {
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('close', stop)
  }
  socket.on('data', onData)
  socket.once('close', stop)
  socket.resume()
}

/**
 * A TLSSocket this worker wrapped itself is done with its handshake: mark it as tls.Server
 * marks its own. node:http2 waits for `secureConnect` (a client's event) while
 * `secureConnecting` is set, and would never start the session.
 */
export const handshakeDone = (socket: TLSSocket): void => {
  ;(socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false
}

/** The session that owns an HTTP/2 request, to find its connection's bookkeeping. */
export const sessionOf = (req: IncomingMessage): http2.Http2Session | undefined =>
  (req as unknown as http2.Http2ServerRequest).stream?.session

/**
 * The request came over HTTP/2 (node:http2's compatibility objects stand in for node:http's).
 * Its version alone does not say so: node:http parses `GET / HTTP/2.0` in an HTTP/1.1 request
 * line too (a request worker-server refuses with 400); only node:http2's request has a stream.
 */
export const isHttp2 = (req: IncomingMessage): boolean => req.httpVersionMajor === 2 && 'stream' in req

/**
 * Whether a closed response reached the client whole. node:http2's compatibility response says
 * `writableFinished` also for a stream the client reset: there, it is ended by the app and
 * closed without an error code.
 */
export const completed = (req: IncomingMessage, res: ServerResponse): boolean =>
  isHttp2(req)
    ? res.writableEnded && !(res as unknown as http2.Http2ServerResponse).stream.rstCode
    : res.writableFinished

/**
 * Ends an HTTP/2 stream whose answer is out but whose request body is still coming: RST_STREAM
 * with NO_ERROR asks the client to stop sending without failing the response (RFC 9113 §8.1).
 * The connection, shared with other requests, stays open.
 */
export const stopReading = (req: IncomingMessage): void => {
  const stream = (req as unknown as http2.Http2ServerRequest).stream
  if (!stream.closed) stream.close(process.getBuiltinModule('node:http2').constants.NGHTTP2_NO_ERROR)
}

/**
 * Connection-specific response headers HTTP/2 forbids (RFC 9113 §8.2.2); node:http2 throws on
 * them. An app written for HTTP/1.1 may still set them: they are dropped, as nginx does.
 */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
])

/** True for a header a response over HTTP/2 must not carry. */
const connectionSpecific = (name: string): boolean => CONNECTION_HEADERS.has(name)

type HeaderInput = http2.OutgoingHttpHeaders | ReadonlyArray<string | readonly [string, unknown]>

/** Headers given to writeHead without the connection-specific ones (object, flat or paired list). */
const withoutConnectionHeaders = (headers: HeaderInput): HeaderInput => {
  if (!Array.isArray(headers)) {
    const kept: http2.OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(headers))
      if (!connectionSpecific(name.toLowerCase())) kept[name] = value
    return kept
  }
  if (headers.length > 0 && Array.isArray(headers[0]))
    return (headers as ReadonlyArray<readonly [string, unknown]>).filter(
      ([name]) => !connectionSpecific(String(name).toLowerCase()),
    )
  const flat: string[] = []
  for (let i = 0; i < headers.length; i += 2)
    if (!connectionSpecific(String(headers[i]).toLowerCase()))
      flat.push(headers[i] as string, headers[i + 1] as string)
  return flat
}

/**
 * node:http2's compatibility response, minus its one trap for apps written for node:http:
 * `Connection`, `Keep-Alive`, `Transfer-Encoding`, `Upgrade` and `Proxy-Connection` (an SSE
 * handler's `Connection: keep-alive`) are dropped instead of thrown on, as nginx drops them
 * when it answers over HTTP/2.
 */
export const http2Response = (): typeof http2.Http2ServerResponse =>
  (made ??= class Http2Response extends process.getBuiltinModule('node:http2').Http2ServerResponse {
    override setHeader(name: string, value: number | string | readonly string[]): this {
      if (!connectionSpecific(name.toLowerCase())) super.setHeader(name, value)
      return this
    }
    override writeHead(statusCode: number, ...rest: unknown[]): this {
      const last = rest[rest.length - 1]
      if (last !== undefined && typeof last === 'object' && last !== null)
        rest[rest.length - 1] = withoutConnectionHeaders(last as HeaderInput)
      return (super.writeHead as (status: number, ...args: unknown[]) => this)(statusCode, ...rest)
    }
  } as unknown as typeof http2.Http2ServerResponse)
// Made on first use: node:http2 (35 ms to load here) is loaded only by a worker that serves HTTP/2.
let made: typeof http2.Http2ServerResponse | undefined

/** The host a request named: Host over HTTP/1.1, `:authority` over HTTP/2 (where Host is optional). */
const requestHost = (req: IncomingMessage): string | undefined =>
  isHttp2(req)
    ? (req.headers.host ?? (req.headers[':authority'] as string | undefined))
    : rawHeader(req.rawHeaders, 'host')

/**
 * `scheme://host` as the client used them: https on a connection of an https:// bind (a
 * TLSSocket) or a uwsgi request nginx marked HTTPS, the host from Host or `:authority`,
 * `localhost` when it named none — unless a trusted proxy's forwarded headers say otherwise.
 */
export const requestOrigin = (req: IncomingMessage): { scheme: string; host: string } => {
  // A trusted proxy's X-Forwarded-Proto/-Host (or Forwarded) say what the client used.
  const said = forwardedOf(req)
  return {
    scheme: said?.proto ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'),
    host: said?.host ?? requestHost(req) ?? 'localhost',
  }
}

/**
 * Writes a status and headers to a response of either protocol (no status text over HTTP/2:
 * it has none; its response class drops the connection-specific headers). `set-cookie` comes
 * apart, from `cookies()`, asked only when there is one: it is the one header never joined.
 */
export const setHead = (
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  statusText: string,
  headers: Iterable<readonly [string, string]>,
  cookies: () => string[],
): void => {
  res.statusCode = status
  if (statusText && !isHttp2(req)) res.statusMessage = statusText
  let cookie = false
  for (const [name, value] of headers) {
    if (name === 'set-cookie') cookie = true
    else res.setHeader(name, value)
  }
  if (cookie) res.setHeader('set-cookie', cookies())
}
