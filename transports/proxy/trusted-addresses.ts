/**
 * Which peers may speak for their clients: the addresses allowed to send a PROXY protocol
 * header, or X-Forwarded-* / Forwarded headers that troupe believes (gunicorn's
 * `forwarded_allow_ips`). A list of entries, each one of:
 *
 * - an address: `10.0.0.5`, `::1`
 * - a network in CIDR notation: `10.0.0.0/8`, `fd00::/8`
 * - `*`: anyone (only where the network itself guarantees that nothing else can connect)
 * - `unix`: peers on a Unix-domain socket, even when loopback is not trusted
 *
 * A peer that connected over IPv6 from an IPv4-mapped address (`::ffff:10.1.2.3`, what a
 * dual-stack listener reports) is matched as the IPv4 address it stands for.
 *
 * A Unix-domain socket's peer has no address (`socket.remoteAddress` is undefined): it is a
 * process on this machine that could open the socket file. It is trusted whenever loopback is
 * (the list matches 127.0.0.1 or ::1), or with `*` or `unix`: any local process can reach a
 * loopback port, while the socket file's mode can only narrow who reaches it, so trusting
 * loopback but not the socket would guard nothing.
 */
import net from 'node:net'
import { InvalidOptionError } from '../../runtime/errors.ts'

/** The set of trusted peers; `has(undefined)` asks about a Unix-domain socket's peer. */
export interface TrustedAddresses {
  has(address: string | undefined): boolean
}

/** Dotted IPv4 inside `::ffff:`, as node reports a v4 peer of a dual-stack listener. */
const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i

/** The IPv4 address an IPv4-mapped IPv6 one stands for, else the address itself, without a zone (`%eth0`). */
const plain = (address: string): string => {
  const zone = address.indexOf('%')
  if (zone !== -1) address = address.slice(0, zone)
  return MAPPED_V4.exec(address)?.[1] ?? address
}

interface Parsed {
  readonly address: string
  readonly prefix: number | undefined
  readonly family: 'ipv4' | 'ipv6'
}

const parse = (entry: string): Parsed | string => {
  // A zone (fe80::1%eth0) names an interface of this machine: a peer's address does not carry one to match.
  if (entry.includes('%')) return `"${entry}" has a zone (%…): give the address without it`
  const slash = entry.indexOf('/')
  const host = plain(slash === -1 ? entry : entry.slice(0, slash))
  const version = net.isIP(host)
  if (version === 0) {
    if (/^[a-z][a-z0-9.-]*$/i.test(host))
      return `"${entry}" is a name; names are not resolved: give an address (127.0.0.1, ::1), a network (10.0.0.0/8), "unix" or "*"`
    return `"${entry}" is not an IPv4 or IPv6 address, a network in CIDR notation (10.0.0.0/8, fd00::/8), "unix" or "*"`
  }
  const family = version === 4 ? 'ipv4' : 'ipv6'
  if (slash === -1) return { address: host, prefix: undefined, family }
  const bits = entry.slice(slash + 1)
  const max = version === 4 ? 32 : 128
  // An IPv4-mapped network (::ffff:10.0.0.0/104) is the IPv4 network it stands for.
  const mapped = version === 4 && !net.isIPv4(entry.slice(0, slash)) ? 96 : 0
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) - mapped : Number.NaN
  if (!(prefix >= 0 && prefix <= max))
    return `"${entry}" has a prefix length that is not a whole number from ${mapped} to ${max + mapped}`
  return { address: host, prefix, family }
}

/**
 * Why an entry of a trusted-addresses list is not valid, or undefined when it is. For the
 * config layer, which refuses a bad entry at start-up naming its option.
 */
export const trustedEntryProblem = (entry: string): string | undefined => {
  const trimmed = entry.trim()
  if (trimmed === '*' || trimmed === 'unix') return undefined
  if (trimmed === '') return 'an entry is empty'
  const parsed = parse(trimmed)
  return typeof parsed === 'string' ? parsed : undefined
}

/**
 * The matcher for a list of entries (see the module's comment). An invalid entry throws
 * `InvalidOptionError` (validate with `trustedEntryProblem` first to name the option).
 */
export const trustedAddresses = (entries: readonly string[]): TrustedAddresses => {
  const list = new net.BlockList()
  let anyone = false
  let unix = false
  for (const raw of entries) {
    const entry = raw.trim()
    if (entry === '*') anyone = true
    else if (entry === 'unix') unix = true
    else {
      const parsed = parse(entry)
      if (typeof parsed === 'string') throw new InvalidOptionError(`trusted addresses: ${parsed}`)
      if (parsed.prefix === undefined) list.addAddress(parsed.address, parsed.family)
      else list.addSubnet(parsed.address, parsed.prefix, parsed.family)
    }
  }
  const check = (address: string): boolean => {
    const bare = plain(address)
    return list.check(bare, bare.includes(':') ? 'ipv6' : 'ipv4')
  }
  if (anyone) return { has: () => true }
  const local = unix || check('127.0.0.1') || check('::1')
  return { has: (address) => (address === undefined ? local : check(address)) }
}
