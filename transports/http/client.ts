/**
 * Who the client is, as an application server behind proxies must say it: the connection's
 * peer — or, on a PROXY protocol listener, the address the load balancer declared; on a uwsgi
 * listener, nginx's REMOTE_ADDR — and, when that peer is a trusted proxy (forwardedAllowIps),
 * what its X-Forwarded-For/-Proto/-Host or Forwarded headers say. Headers from anyone else reach
 * the app untouched and change nothing here.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { type ForwardedClient, forwardedClient } from '../proxy/forwarded.ts'
import { type TrustedAddresses, trustedAddresses } from '../proxy/trusted-addresses.ts'

/**
 * Built on first use: a BlockList's first construction loads Node's internals for it, and the
 * first address parsed compiles net's IPv6 pattern (together ~4 ms of a worker's start).
 */
let trusted: TrustedAddresses | undefined
let trustedEntries: readonly string[] = ['127.0.0.1', '::1']

/** The worker's forwardedAllowIps (checked by the config already), set once as it starts. */
export const trustForwardedFrom = (entries: readonly string[]): void => {
  trustedEntries = entries
  trusted = undefined
}

/** What the proxies said about a request, read once (`null`: nothing, or nobody trusted said it). */
const FORWARDED = Symbol('troupe.forwarded')
type Remembered = IncomingMessage & { [FORWARDED]?: ForwardedClient | null }

export const forwardedOf = (req: IncomingMessage): ForwardedClient | undefined => {
  const seen = (req as Remembered)[FORWARDED]
  if (seen !== undefined) return seen ?? undefined
  trusted ??= trustedAddresses(trustedEntries)
  const said = forwardedClient(req.rawHeaders, req.socket?.remoteAddress, trusted)
  ;(req as Remembered)[FORWARDED] = said ?? null
  return said
}

/**
 * A connection's peer is someone else than the socket says (PROXY protocol, uwsgi's
 * REMOTE_ADDR): what `socket.remoteAddress` and `remotePort` answer from now on, for Node-style
 * apps as they read it today.
 */
export const setPeer = (
  socket: Socket | Duplex,
  address: string | undefined,
  port: number | undefined,
  family?: string,
): void => {
  Object.defineProperty(socket, 'remoteAddress', { value: address, configurable: true })
  Object.defineProperty(socket, 'remotePort', { value: port, configurable: true })
  if (family !== undefined)
    Object.defineProperty(socket, 'remoteFamily', { value: family, configurable: true })
}

/** Where a fetch app's Request came from: the Request troupe makes answers this key (incoming-request.ts). */
const INCOMING = Symbol.for('troupe.incoming')

/** A Request made away from its connection (a thread-pool thread): who its client is, as the worker said. */
const CLIENT = Symbol.for('troupe.client')

export const attachClient = (request: Request, client: ClientInfo): void => {
  Object.defineProperty(request, CLIENT, { value: client })
}

export interface ClientInfo {
  /** The client's address (IPv4 or IPv6 text); undefined when nothing says (a Unix socket peer). */
  readonly address: string | undefined
  readonly port: number | undefined
  /** The scheme the client used: https also behind a TLS-terminating proxy that says so. */
  readonly scheme: 'http' | 'https'
  /** The host the client asked for (a trusted proxy's X-Forwarded-Host, else Host). */
  readonly host: string | undefined
}

/**
 * The client of a request: `clientAddress(request)` in a fetch app (the Request troupe gave it),
 * `clientAddress(req)` in a Node-style one. Undefined for a Request troupe did not make.
 */
export const clientAddress = (request: Request | IncomingMessage): ClientInfo | undefined => {
  const known = (request as unknown as Record<symbol, ClientInfo | undefined>)[CLIENT]
  if (known) return known
  // A Request troupe made answers INCOMING; a message has rawHeaders. (No `instanceof Request`:
  // in a worker `Request` is a proxy, and asking it cost more than the rest of this function.)
  const req =
    (request as unknown as Record<symbol, IncomingMessage | undefined>)[INCOMING] ??
    ('rawHeaders' in request ? request : undefined)
  if (!req) return undefined
  const said = forwardedOf(req)
  const socket = req.socket as (Socket & { encrypted?: boolean }) | undefined
  return {
    address: said?.address ?? socket?.remoteAddress,
    port: said?.address !== undefined ? said.port : socket?.remotePort,
    scheme: said?.proto ?? (socket?.encrypted ? 'https' : 'http'),
    host: said?.host ?? (req.headers.host || undefined),
  }
}
