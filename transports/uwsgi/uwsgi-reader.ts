/**
 * The stream side of a uwsgi listener: reads one packet off a connection and turns the
 * connection into plain HTTP/1.1 for node:http. nginx opens a connection per request and never
 * reuses it (its uwsgi module sets no upstream keepalive), so one packet is all there is; what
 * follows it is the request's body (or, after an upgrade, the WebSocket's bytes).
 */
import type { Duplex } from 'node:stream'
import { UwsgiPacketError } from '../../runtime/errors.ts'
import { parseUwsgiPacket, type UwsgiLimits, type UwsgiRefusal } from './uwsgi-packet.ts'
import { type UwsgiRequest, uwsgiRequest } from './uwsgi-request.ts'

const refused = (refusal: UwsgiRefusal, cause?: unknown): UwsgiPacketError =>
  new UwsgiPacketError(`uwsgi: ${refusal.message} [${refusal.reason}]`, {
    reason: refusal.reason,
    ...(cause === undefined ? {} : { cause }),
  })

/**
 * Reads the uwsgi packet at the start of `socket`, then puts back in its place the HTTP/1.1
 * head it stands for, followed by whatever body bytes came with it (`unshift`), and leaves the
 * socket paused: hand it to node:http (`server.emit('connection', socket)`) and resume it.
 * With `putBack: false` nothing is put back: the body bytes read with the packet come as `rest`.
 *
 * `then` is called exactly once: with the request's facts, or with a `UwsgiPacketError` whose
 * `reason` says why the connection cannot be served (a bad packet, the peer closing before its
 * vars were complete (`truncated`), no whole packet within `timeoutMs` (`timeout`)). The socket
 * is never destroyed here: the caller logs, counts and closes. Every listener and timer this
 * adds is gone by the time `then` runs.
 */
export const readUwsgiRequest = (
  socket: Duplex,
  limits: UwsgiLimits,
  timeoutMs: number,
  then: (result: UwsgiRequest | UwsgiPacketError, rest?: Buffer) => void,
  { putBack = true }: { readonly putBack?: boolean } = {},
): void => {
  const chunks: Buffer[] = []
  let length = 0
  let needed = 1
  let answered = false

  const answer = (result: UwsgiRequest | UwsgiPacketError, rest?: Buffer): void => {
    if (answered) return
    answered = true
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('end', onEnd)
    socket.off('close', onEnd)
    socket.off('error', onError)
    then(result, rest)
  }

  const onData = (chunk: Buffer): void => {
    if (answered) return
    chunks.push(chunk)
    length += chunk.length
    // A packet split in many reads (byte by byte, even) is joined once it can be whole.
    if (length < needed) return
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)
    chunks.length = 0
    chunks.push(bytes)
    const packet = parseUwsgiPacket(bytes, limits)
    if (packet.kind === 'more') {
      needed = packet.needed
      return
    }
    if (packet.kind === 'refused') {
      answer(refused(packet))
      return
    }
    const request = uwsgiRequest(packet.vars)
    if (request.kind === 'refused') {
      answer(refused(request))
      return
    }
    socket.pause()
    const rest = bytes.subarray(packet.consumed)
    // `putBack: false`: the caller takes the body bytes that came with the packet (`rest`) and
    // builds the request itself, with no head for node:http to parse again.
    if (!putBack) {
      answer(request, rest)
      return
    }
    // One chunk, as a client sending HTTP would have: node:http parses head and body bytes in
    // one go, and after an upgrade hands the bytes past the head to its handler as `head`.
    socket.unshift(rest.length > 0 ? Buffer.concat([request.head, rest]) : request.head)
    answer(request)
  }
  const onEnd = (): void =>
    answer(
      refused({
        kind: 'refused',
        reason: 'truncated',
        message: `the peer closed the connection after ${length} byte(s), before the uwsgi packet was complete`,
      }),
    )
  const onError = (error: Error): void =>
    answer(
      refused(
        {
          kind: 'refused',
          reason: 'truncated',
          message: `the connection failed after ${length} byte(s), before the uwsgi packet was complete (${error.message})`,
        },
        error,
      ),
    )
  const timer = setTimeout(
    () =>
      answer(
        refused({
          kind: 'refused',
          reason: 'timeout',
          message: `no whole uwsgi packet arrived within ${timeoutMs} ms (${length} byte(s) so far)`,
        }),
      ),
    timeoutMs,
  )

  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.on('close', onEnd)
  socket.on('error', onError)
  // A socket that ended or closed before this was called will not say so again.
  if (socket.destroyed || socket.readableEnded) process.nextTick(onEnd)
  else socket.resume()
}
