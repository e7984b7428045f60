/**
 * The PROXY protocol (HAProxy's, versions 1 and 2): a TCP load balancer that does not speak
 * HTTP says, before the connection's own bytes, which client it accepted the connection from.
 * A listener with the protocol on reads that header first, before a TLS handshake, uwsgi or
 * HTTP, and only from peers it trusts: from anyone else the header would be a forged address.
 * https://www.haproxy.org/download/3.0/doc/proxy-protocol.txt
 */
import type { Socket } from 'node:net'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { ProxyProtocolError, type ProxyRefusal } from '../../runtime/errors.ts'
import type { TrustedAddresses } from './trusted-addresses.ts'

export type { ProxyRefusal } from '../../runtime/errors.ts'

/** Version 1 begins with this text. */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1')
/** Version 2 begins with these 12 bytes, chosen to be nothing any other protocol starts with. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
/** A version 1 header is at most this long, CRLF included (the spec's worst case, TCP6 with 5-digit ports). */
export const V1_MAX_BYTES = 107
/** Signature, version/command, family/transport and length: what precedes a version 2 header's addresses. */
const V2_FIXED = 16
/**
 * The longest version 2 address block (addresses and TLVs) accepted. The addresses take at most
 * 216 bytes (AF_UNIX); the rest is room for TLVs (TLS details, a unique id, a cloud's endpoint
 * id), which real load balancers keep to a few hundred bytes. Bounded so that a peer cannot make
 * the listener buffer 64 KiB per connection before it has said anything.
 */
export const V2_MAX_LENGTH = 4096

/** Where a version 1 or 2 header says a connection came from or went to. */
export interface ProxyEndpoint {
  readonly address: string
  readonly port: number
}

/** What a PROXY header declared. */
export type ProxyHeader =
  /** v2 LOCAL: the load balancer's own connection (a health check); the real peer stands. */
  | { readonly version: 2; readonly command: 'local' }
  /** v1 UNKNOWN, v2 AF_UNSPEC: relayed, but from a client the load balancer cannot name; the real peer stands. */
  | { readonly version: 1 | 2; readonly command: 'proxy'; readonly family: 'unknown' }
  | {
      readonly version: 1 | 2
      readonly command: 'proxy'
      readonly family: 'tcp4' | 'tcp6'
      readonly source: ProxyEndpoint
      readonly destination: ProxyEndpoint
    }
  /** v2 AF_UNIX: the client reached the load balancer over a Unix socket of its own (paths, not addresses). */
  | {
      readonly version: 2
      readonly command: 'proxy'
      readonly family: 'unix'
      readonly source: string
      readonly destination: string
    }

/** What the bytes read so far make of a connection's start. */
export type ProxyParse =
  | { readonly state: 'more' }
  | { readonly state: 'refused'; readonly reason: ProxyRefusal; readonly message: string }
  /** `consumed`: the header's length; the bytes after it are the connection's own. */
  | { readonly state: 'header'; readonly header: ProxyHeader; readonly consumed: number }

const MORE: ProxyParse = { state: 'more' }

const refuse = (reason: ProxyRefusal, message: string): ProxyParse => ({ state: 'refused', reason, message })

/** `bytes` so far agree with `signature` (as far as they go). */
const startsLike = (bytes: Buffer, signature: Buffer): boolean => {
  const n = Math.min(bytes.length, signature.length)
  return bytes.compare(signature, 0, n, 0, n) === 0
}

/** The first bytes of something that is not a PROXY header, said so an operator recognises it. */
const describeStart = (bytes: Buffer): string => {
  if (bytes[0] === 0x16) return 'a TLS handshake'
  if (bytes[0] === 0) return 'a binary message (uwsgi?)'
  return JSON.stringify(bytes.toString('latin1', 0, 24))
}

/**
 * Reads a PROXY header from the start of a connection. Pure: pass every byte received so far
 * (the header never exceeds V1_MAX_BYTES, or V2_FIXED + V2_MAX_LENGTH); the answer is `more`
 * until the bytes decide it. Anything that is neither version's signature is refused at once.
 */
export const parseProxyHeader = (bytes: Buffer): ProxyParse => {
  if (bytes.length === 0) return MORE
  if (bytes[0] === V1_PREFIX[0] && startsLike(bytes, V1_PREFIX))
    return bytes.length < V1_PREFIX.length ? MORE : parseV1(bytes)
  if (bytes[0] === V2_SIGNATURE[0] && startsLike(bytes, V2_SIGNATURE))
    return bytes.length < V2_FIXED ? MORE : parseV2(bytes)
  return refuse(
    'not-proxy',
    `this listener expects the PROXY protocol, but the connection began with ${describeStart(bytes)}`,
  )
}

const CR = 0x0d
const LF = 0x0a

const parseV1 = (bytes: Buffer): ProxyParse => {
  let end = -1
  // The CR of the closing CRLF can be no later than this, for the header to fit its limit.
  const lastCr = V1_MAX_BYTES - 2
  for (let i = V1_PREFIX.length; i < bytes.length; i++) {
    const c = bytes[i]!
    if (c === CR) {
      if (i + 1 === bytes.length) return MORE
      if (bytes[i + 1] !== LF) return refuse('malformed-v1', 'a version 1 header has a CR not followed by LF')
      end = i
      break
    }
    if (i >= lastCr)
      return refuse('malformed-v1', `a version 1 header has no CRLF within its ${V1_MAX_BYTES} bytes`)
    if (c < 0x20 || c > 0x7e)
      return refuse('malformed-v1', 'a version 1 header holds a byte that is not text')
  }
  if (end === -1) return MORE
  const consumed = end + 2
  const fields = bytes.toString('latin1', V1_PREFIX.length, end).split(' ')
  const protocol = fields[0]
  // The receiver ignores whatever follows UNKNOWN (the spec's rule, for a sender that cannot name the client).
  if (protocol === 'UNKNOWN')
    return { state: 'header', header: { version: 1, command: 'proxy', family: 'unknown' }, consumed }
  if (protocol !== 'TCP4' && protocol !== 'TCP6')
    return refuse(
      'malformed-v1',
      `a version 1 header names protocol ${JSON.stringify(protocol)}, not TCP4, TCP6 or UNKNOWN`,
    )
  if (fields.length !== 5)
    return refuse(
      'malformed-v1',
      `a version 1 header must read "PROXY ${protocol} <source> <destination> <source port> <destination port>"`,
    )
  const [, source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
  ]
  const version = protocol === 'TCP4' ? 4 : 6
  for (const [what, address] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    const found = net.isIP(address)
    if (found === 0)
      return refuse(
        'malformed-v1',
        `a version 1 header's ${what} address ${JSON.stringify(address)} is not an address`,
      )
    if (found !== version)
      return refuse(
        'malformed-v1',
        `a version 1 header says ${protocol} but its ${what} address ${address} is IPv${found}`,
      )
  }
  const ports = [port(sourcePort), port(destinationPort)] as const
  if (ports[0] === undefined || ports[1] === undefined) {
    const bad = ports[0] === undefined ? sourcePort : destinationPort
    return refuse(
      'malformed-v1',
      `a version 1 header's port ${JSON.stringify(bad)} is not a number from 0 to 65535`,
    )
  }
  return {
    state: 'header',
    header: {
      version: 1,
      command: 'proxy',
      family: version === 4 ? 'tcp4' : 'tcp6',
      source: { address: source, port: ports[0] },
      destination: { address: destination, port: ports[1] },
    },
    consumed,
  }
}

const port = (text: string): number | undefined => {
  if (!/^\d{1,5}$/.test(text)) return undefined
  const n = Number(text)
  return n <= 65535 ? n : undefined
}

/** AF_INET, AF_INET6 and AF_UNIX (high nibble of byte 13), and the bytes their two addresses and ports take. */
const V2_FAMILIES = new Map([
  [1, { family: 'tcp4', bytes: 12 }],
  [2, { family: 'tcp6', bytes: 36 }],
  [3, { family: 'unix', bytes: 216 }],
] as const)

const parseV2 = (bytes: Buffer): ProxyParse => {
  const versionCommand = bytes[12]!
  if (versionCommand >> 4 !== 2)
    return refuse(
      'malformed-v2',
      `a version 2 signature is followed by version ${versionCommand >> 4}, not 2`,
    )
  const command = versionCommand & 0x0f
  if (command > 1)
    return refuse(
      'malformed-v2',
      `a version 2 header has command ${command}, neither LOCAL (0) nor PROXY (1)`,
    )
  const length = bytes.readUInt16BE(14)
  if (length > V2_MAX_LENGTH)
    return refuse(
      'malformed-v2',
      `a version 2 header announces ${length} bytes of addresses and TLVs, over the limit of ${V2_MAX_LENGTH}`,
    )
  // LOCAL: the spec has the receiver discard the block whatever family it claims.
  if (command === 0) {
    if (bytes.length < V2_FIXED + length) return MORE
    return { state: 'header', header: { version: 2, command: 'local' }, consumed: V2_FIXED + length }
  }
  const familyTransport = bytes[13]!
  const familyCode = familyTransport >> 4
  // AF_UNSPEC: the sender could not name the client; its address block, if any, means nothing.
  if (familyCode === 0) {
    if (bytes.length < V2_FIXED + length) return MORE
    return {
      state: 'header',
      header: { version: 2, command: 'proxy', family: 'unknown' },
      consumed: V2_FIXED + length,
    }
  }
  const family = V2_FAMILIES.get(familyCode as 1 | 2 | 3)
  if (!family)
    return refuse(
      'malformed-v2',
      `a version 2 header has address family ${familyCode}, not one this listener knows`,
    )
  const transport = familyTransport & 0x0f
  if (transport !== 1)
    return refuse(
      'malformed-v2',
      `a version 2 header has transport ${transport === 2 ? 'DGRAM' : transport}; a stream listener takes STREAM (1) only`,
    )
  if (length < family.bytes)
    return refuse(
      'malformed-v2',
      `a version 2 header gives ${length} bytes for ${family.family} addresses, which take ${family.bytes}`,
    )
  if (bytes.length < V2_FIXED + length) return MORE
  const consumed = V2_FIXED + length
  const tlvs = checkTlvs(bytes, V2_FIXED + family.bytes, consumed)
  if (tlvs) return refuse('malformed-v2', tlvs)
  const at = V2_FIXED
  if (family.family === 'unix')
    return {
      state: 'header',
      header: {
        version: 2,
        command: 'proxy',
        family: 'unix',
        source: unixPath(bytes, at),
        destination: unixPath(bytes, at + 108),
      },
      consumed,
    }
  const size = family.family === 'tcp4' ? 4 : 16
  const format = family.family === 'tcp4' ? formatIPv4 : formatIPv6
  return {
    state: 'header',
    header: {
      version: 2,
      command: 'proxy',
      family: family.family,
      source: { address: format(bytes, at), port: bytes.readUInt16BE(at + 2 * size) },
      destination: { address: format(bytes, at + size), port: bytes.readUInt16BE(at + 2 * size + 2) },
    },
    consumed,
  }
}

/**
 * TLVs are skipped (nothing here needs what they say), but must tile the rest of the block
 * exactly: one that runs past it means the sender and this listener disagree on the layout.
 */
const checkTlvs = (bytes: Buffer, from: number, end: number): string | undefined => {
  let at = from
  while (at < end) {
    if (at + 3 > end) return `a version 2 header ends inside a TLV's type and length`
    const type = bytes[at]!
    at += 3 + bytes.readUInt16BE(at + 1)
    if (at > end) return `a version 2 header has a TLV (type 0x${type.toString(16)}) longer than its block`
  }
  return undefined
}

const formatIPv4 = (bytes: Buffer, at: number): string =>
  `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`

/** RFC 5952 text for 16 bytes: lowercase, the longest run of two or more zero groups as `::`, IPv4-mapped as `::ffff:a.b.c.d`. */
const formatIPv6 = (bytes: Buffer, at: number): string => {
  const groups: number[] = []
  for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(at + 2 * i))
  // As node reports the peer of a dual-stack listener: the IPv4 client it stands for stays readable.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return `::ffff:${formatIPv4(bytes, at + 12)}`
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i]
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/** A NUL-padded 108-byte sun_path. */
const unixPath = (bytes: Buffer, at: number): string => {
  const field = bytes.subarray(at, at + 108)
  const nul = field.indexOf(0)
  return field.toString('utf8', 0, nul === -1 ? 108 : nul)
}

/** How readProxyHeader reads: who may send a header, and how long it may take to. */
export interface ProxyHeaderOptions {
  /** The peers allowed to send a header (a `trustedAddresses` set); from others the connection is refused unread. */
  readonly trusted: Pick<TrustedAddresses, 'has'>
  /** A peer that has not sent a whole header by then is refused (`timeout`). */
  readonly timeoutMs: number
}

/** The header was read: the client to serve the connection as. */
export interface ProxyAccepted {
  readonly ok: true
  /**
   * The client's address as the load balancer declared it (`declared`), or the real peer's
   * where the header names none: v2 LOCAL, v1 UNKNOWN, v2 AF_UNSPEC, and v2 AF_UNIX (a
   * socket path is no client address, and a missing one would read as a local process).
   */
  readonly address: string | undefined
  readonly port: number | undefined
  readonly family: 'IPv4' | 'IPv6' | undefined
  /** `address` and `port` come from the header, not the socket. */
  readonly declared: boolean
  /** The header as read, destination included. */
  readonly header: ProxyHeader
}

/**
 * The connection is refused; the socket is left open and paused for the caller to log, count
 * and close. What was read of it is dropped (from an untrusted peer nothing was read).
 */
export interface ProxyRefused {
  readonly ok: false
  /** As `error.reason`: for a counter per reason. */
  readonly reason: ProxyRefusal
  /** TROUPE_E_PROXY_PROTOCOL; its message names the peer and what was wrong, for the log. */
  readonly error: ProxyProtocolError
}

export type ProxyAnswer = ProxyAccepted | ProxyRefused

type Peer = Partial<Pick<Socket, 'remoteAddress' | 'remotePort' | 'remoteFamily'>>

const describePeer = ({ remoteAddress, remotePort }: Peer): string =>
  remoteAddress === undefined
    ? 'a Unix-socket peer'
    : remoteAddress.includes(':')
      ? `[${remoteAddress}]:${remotePort}`
      : `${remoteAddress}:${remotePort}`

const familyOf = (family: string | undefined): 'IPv4' | 'IPv6' | undefined =>
  family === 'IPv4' || family === 'IPv6' ? family : undefined

/**
 * Reads the PROXY header off a fresh connection, before anything else touches its bytes, and
 * answers `then` exactly once, always on a later tick. An untrusted peer is refused at once,
 * with nothing read. Otherwise the socket is resumed and read until the header is whole, refused,
 * cut short (`truncated`) or late (`timeout`); then the listeners and timer are removed, the
 * socket is paused, and the bytes that came after the header are put back (unshift), so
 * whoever takes the connection next (a TLS handshake, uwsgi, node:http) reads them as its own.
 * It never destroys the socket: a refusal is the caller's to log, count and close.
 */
export const readProxyHeader = (
  socket: Duplex,
  options: ProxyHeaderOptions,
  then: (answer: ProxyAnswer) => void,
): void => {
  const peer = socket as Peer
  const refused = (reason: ProxyRefusal, message: string, cause?: unknown): ProxyRefused => ({
    ok: false,
    reason,
    error: new ProxyProtocolError(`PROXY protocol from ${describePeer(peer)}: ${message}`, {
      reason,
      ...(cause === undefined ? {} : { cause }),
    }),
  })
  if (!options.trusted.has(peer.remoteAddress)) {
    process.nextTick(
      then,
      refused('untrusted', 'this peer is not among the trusted addresses that may send a PROXY header'),
    )
    return
  }
  // Gone while it waited to be read (reset in the acceptor's queue): no 'close' is left to wait for.
  if (socket.closed || socket.readableEnded) {
    process.nextTick(
      then,
      refused('truncated', 'the peer closed the connection before sending a PROXY header'),
    )
    return
  }
  let seen: Buffer | undefined
  let answered = false
  const answer = (result: ProxyAnswer, rest?: Buffer) => {
    if (answered) return
    answered = true
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('end', onEnd)
    socket.off('close', onEnd)
    socket.off('error', onError)
    // Paused before `then`: no byte may flow to nobody between this answer and the next reader.
    socket.pause()
    if (rest && rest.length > 0) socket.unshift(rest)
    // Never from inside the socket's 'data' dispatch: a caller that resumed the socket there
    // (to hand it to a TLSSocket, which takes its buffered bytes a tick later) would have the
    // stream's flow loop go on and emit the put-back bytes to no listener.
    process.nextTick(then, result)
  }
  const onData = (chunk: Buffer) => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk
    const parsed = parseProxyHeader(seen)
    if (parsed.state === 'more') return
    if (parsed.state === 'refused') return answer(refused(parsed.reason, parsed.message))
    answer(accepted(parsed.header, peer), seen.subarray(parsed.consumed))
  }
  const cutShort = () =>
    seen === undefined
      ? 'the peer closed the connection before sending a PROXY header'
      : `the peer closed the connection after ${seen.length} bytes of a PROXY header`
  const onEnd = () => answer(refused('truncated', cutShort()))
  const onError = (error: Error) => answer(refused('truncated', `${cutShort()} (${error.message})`, error))
  const timer = setTimeout(
    () => answer(refused('timeout', `no whole PROXY header within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  )
  socket.on('data', onData)
  socket.once('end', onEnd)
  socket.once('close', onEnd)
  socket.once('error', onError)
  socket.resume()
}

const accepted = (header: ProxyHeader, peer: Peer): ProxyAccepted => {
  if (header.command === 'proxy' && (header.family === 'tcp4' || header.family === 'tcp6'))
    return {
      ok: true,
      address: header.source.address,
      port: header.source.port,
      family: header.family === 'tcp4' ? 'IPv4' : 'IPv6',
      declared: true,
      header,
    }
  return {
    ok: true,
    address: peer.remoteAddress,
    port: peer.remotePort,
    family: familyOf(peer.remoteFamily),
    declared: false,
    header,
  }
}
