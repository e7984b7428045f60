/**
 * What a trusted proxy in front says about the client: gunicorn's `forwarded_allow_ips`. From
 * a peer among the trusted addresses, the RFC 7239 `Forwarded` header (or, without one,
 * `X-Forwarded-For` / `-Proto` / `-Host`) gives the client's address, the scheme it used and
 * the host it asked for. From any other peer these headers are a client's own claims: nothing
 * is taken from them (they still reach the app untouched).
 *
 * The client address is the right-most one that is not itself a trusted proxy: each proxy
 * appends the peer it saw, so walking from the right, every entry is vouched for by the hop
 * after it as long as that hop is trusted. A client that sends its own `X-Forwarded-For:
 * 1.2.3.4` gets it kept by the proxies, but left of its real address, where the walk stops.
 */
import net from 'node:net'
import type { TrustedAddresses } from './trusted-addresses.ts'

/** What the forwarding headers of a trusted peer say; each field only when they say it validly. */
export interface ForwardedClient {
  readonly address?: string
  readonly port?: number
  readonly proto?: 'http' | 'https'
  readonly host?: string
}

const X = 0x78
const F = 0x66

/** One hop of a forwarding chain, as a header told it. */
interface Hop {
  /** The `for=` (or X-Forwarded-For entry) as written; undefined when there was none. */
  readonly node: string | undefined
  readonly proto: string | undefined
  readonly host: string | undefined
}

/**
 * The client behind a trusted proxy, from a request's `rawHeaders` ([name, value, …], as
 * node:http gives them) and the peer's address (undefined: a Unix-socket peer). Undefined when
 * the peer is not trusted, or its headers say nothing usable. One pass over the headers
 * comparing name lengths first, so a request without any of these headers costs next to nothing.
 */
export const forwardedClient = (
  rawHeaders: readonly string[],
  peer: string | undefined,
  trusted: Pick<TrustedAddresses, 'has'>,
): ForwardedClient | undefined => {
  let forwarded: string | undefined
  let xFor: string | undefined
  let xProto: string | undefined
  let xHost: string | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    const value = rawHeaders[i + 1]!
    // First letter and length before any lowercase copy: most requests have none of these
    // headers, and Accept-Encoding / Accept-Language share X-Forwarded-For's length.
    const first = name.charCodeAt(0) | 0x20
    if (first !== X && first !== F) continue
    // Several lines of one header are one comma-separated list (RFC 9110 §5.3).
    switch (name.length) {
      case 9:
        if (name.toLowerCase() === 'forwarded')
          forwarded = forwarded === undefined ? value : `${forwarded},${value}`
        break
      case 15:
        if (name.toLowerCase() === 'x-forwarded-for') xFor = xFor === undefined ? value : `${xFor},${value}`
        break
      case 16:
        if (name.toLowerCase() === 'x-forwarded-host')
          xHost = xHost === undefined ? value : `${xHost},${value}`
        break
      case 17:
        if (name.toLowerCase() === 'x-forwarded-proto')
          xProto = xProto === undefined ? value : `${xProto},${value}`
        break
    }
  }
  if (forwarded === undefined && xFor === undefined && xProto === undefined && xHost === undefined)
    return undefined
  if (!trusted.has(peer)) return undefined
  // Forwarded alone when present: mixing it with X-Forwarded-* lets two hops' claims combine
  // where neither vouched for the other.
  const hops = forwarded === undefined ? xForwardedHops(xFor, xProto, xHost) : forwardedHops(forwarded)
  return clientOf(hops, trusted)
}

/** The hop that names the client: right to left, the first not written about a trusted proxy. */
const clientOf = (
  hops: readonly Hop[],
  trusted: Pick<TrustedAddresses, 'has'>,
): ForwardedClient | undefined => {
  if (hops.length === 0) return undefined
  let hop = hops[hops.length - 1]!
  let endpoint = nodeOf(hop.node)
  for (let i = hops.length - 2; i >= 0 && endpoint !== undefined && trusted.has(endpoint.address); i--) {
    hop = hops[i]!
    endpoint = nodeOf(hop.node)
  }
  // The walk stops at a hop with no usable address (none, "unknown", an obfuscated or garbled
  // one): what lies left of it was written by someone nobody vouched for. That hop's proto and
  // host were still written by a trusted proxy.
  const proto = hop.proto?.trim().toLowerCase()
  const host = hop.host?.trim()
  const client: { address?: string; port?: number; proto?: 'http' | 'https'; host?: string } = {}
  if (endpoint) {
    client.address = endpoint.address
    if (endpoint.port !== undefined) client.port = endpoint.port
  }
  if (proto === 'http' || proto === 'https') client.proto = proto
  if (host !== undefined && HOST.test(host)) client.host = host
  return client.address === undefined && client.proto === undefined && client.host === undefined
    ? undefined
    : client
}

/** A Host header's value: a name or an IPv4 address, or a bracketed IPv6 one, and an optional port. */
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9.\-_~!$&'()*+;=%]+)(?::\d{1,5})?$/i

/**
 * An address (and port) from a `for=` value or an X-Forwarded-For entry: `192.0.2.1`,
 * `192.0.2.1:4711`, `[2001:db8::1]:4711`, `[2001:db8::1]`, or a bare IPv6 address. Undefined
 * for "unknown", an obfuscated identifier (`_hidden`) and anything else.
 */
const nodeOf = (node: string | undefined): { address: string; port?: number } | undefined => {
  if (node === undefined) return undefined
  const text = node.trim()
  if (net.isIP(text) !== 0) return { address: text }
  let address: string
  let rest: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1) return undefined
    address = text.slice(1, close)
    if (!net.isIPv6(address)) return undefined
    rest = text.slice(close + 1)
    if (rest === '') return { address }
    if (rest[0] !== ':') return undefined
    rest = rest.slice(1)
  } else {
    const colon = text.indexOf(':')
    if (colon === -1) return undefined
    address = text.slice(0, colon)
    if (!net.isIPv4(address)) return undefined
    rest = text.slice(colon + 1)
  }
  // An obfuscated port (`_abc`) hides the port, not the address.
  if (rest.startsWith('_')) return { address }
  if (!/^\d{1,5}$/.test(rest) || Number(rest) > 65535) return undefined
  return { address, port: Number(rest) }
}

const splitList = (value: string | undefined): string[] =>
  value === undefined
    ? []
    : value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '')

/**
 * X-Forwarded-For's entries, each with the proto and host at the same place from the right when
 * X-Forwarded-Proto / -Host list as many; otherwise their right-most entry (what the trusted
 * peer itself says) goes with every hop.
 */
const xForwardedHops = (
  xFor: string | undefined,
  xProto: string | undefined,
  xHost: string | undefined,
): Hop[] => {
  const nodes = splitList(xFor)
  const protos = splitList(xProto)
  const hosts = splitList(xHost)
  const count = Math.max(nodes.length, 1)
  const aligned = (list: string[], i: number) => (list.length === count ? list[i] : list[list.length - 1])
  return Array.from({ length: count }, (_, i) => ({
    node: nodes.length === 0 ? undefined : nodes[i],
    proto: aligned(protos, i),
    host: aligned(hosts, i),
  }))
}

/**
 * RFC 7239 elements: `for=…;proto=…;host=…` pairs separated by `;`, elements by `,`, values
 * a token or a quoted string. A garbled element, or one that repeats a parameter, becomes a
 * hop without anything, which stops the walk there.
 */
const forwardedHops = (value: string): Hop[] => {
  const hops: Hop[] = []
  let params = new Map<string, string>()
  let broken = false
  let i = 0
  const finish = () => {
    hops.push(
      broken
        ? { node: undefined, proto: undefined, host: undefined }
        : { node: params.get('for'), proto: params.get('proto'), host: params.get('host') },
    )
    params = new Map()
    broken = false
  }
  const skipSpace = () => {
    while (value[i] === ' ' || value[i] === '\t') i++
  }
  while (i <= value.length) {
    skipSpace()
    if (i >= value.length || value[i] === ',') {
      if (params.size > 0 || broken) finish()
      i++
      continue
    }
    if (value[i] === ';') {
      i++
      continue
    }
    const eq = value.indexOf('=', i)
    const name = eq === -1 ? '' : value.slice(i, eq).trim().toLowerCase()
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
      broken = true
      i = nextDelimiter(value, i, ',')
      continue
    }
    i = eq + 1
    let parameter: string
    if (value[i] === '"') {
      let text = ''
      i++
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\') i++
        text += value[i] ?? ''
        i++
      }
      if (i >= value.length) {
        // An unclosed quote swallows the rest: none of it can be read as elements.
        broken = true
        finish()
        break
      }
      i++
      parameter = text
    } else {
      const end = nextDelimiter(value, i, ';,')
      parameter = value.slice(i, end).trim()
      i = end
    }
    if (params.has(name)) broken = true
    params.set(name, parameter)
  }
  return hops
}

/** Where the next of `delimiters` is, from `from` (or the end). */
const nextDelimiter = (value: string, from: number, delimiters: string): number => {
  let i = from
  while (i < value.length && !delimiters.includes(value[i]!)) i++
  return i
}
