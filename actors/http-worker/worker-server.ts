/**
 * The HTTP side of a worker: node:http parses (llhttp; troupe has no parser of its own) and
 * node:http2 speaks HTTP/2 on the same binds; this wraps each request (each HTTP/2 stream)
 * with what an application server owes its users — concurrency shedding (503), body and
 * header-count limits (413/431), a per-request timeout (504 and an aborted signal),
 * `Connection: close` (HTTP/2: GOAWAY) while draining — and counts everything.
 */
import type * as http from 'node:http'
import type * as http2 from 'node:http2'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { isBodyTooLarge } from '../../transports/http/body-limit.ts'
import { setPeer } from '../../transports/http/client.ts'
import {
  completed,
  handshakeDone,
  http2Response,
  isHttp2,
  sessionOf,
  sniffPreface,
  stopReading,
} from '../../transports/http/http2.ts'
import { type BindAddress, formatBind } from '../../transports/http/listen.ts'
import { nodeHttp } from '../../transports/http/node-http.ts'
import { rawHeader } from '../../transports/http/raw-header.ts'
import { serverTls } from '../../transports/http/tls.ts'
import { readProxyHeader } from '../../transports/proxy/proxy-protocol.ts'
import { type TrustedAddresses, trustedAddresses } from '../../transports/proxy/trusted-addresses.ts'
import { uwsgiExchange } from '../../transports/uwsgi/uwsgi-exchange.ts'
import { readUwsgiRequest } from '../../transports/uwsgi/uwsgi-reader.ts'
import { uwsgiResponse } from '../../transports/uwsgi/uwsgi-response.ts'
import type { AccessEntry } from './access-log-format.ts'
import { QueueShedder } from './queue-shedder.ts'
import { Slots } from './slots.ts'
import { LATENCY_BUCKETS_MS, type WorkerArgs, type WorkerInfo } from './worker-protocol.ts'

/** What an engine may ask of the request in flight besides req and res. */
export interface InFlight {
  /** The request's AbortSignal, made on first use: most requests never need one. */
  signal(): AbortSignal
  /**
   * `watcher.timedOut()` is called when the request runs past its timeout (its 504 is being
   * written): for an engine that must act then, without the cost of a signal and a listener.
   */
  onTimeout(watcher: TimeoutWatcher): void
}

export interface TimeoutWatcher {
  timedOut(): void
}

/** Runs the app for one request; resolves when the response is written (or given up). */
export type Engine = (req: http.IncomingMessage, res: http.ServerResponse, request: InFlight) => Promise<void>

/** A connection the worker serves: requests in flight, idle since, and which response closes it. */
interface Tracked {
  readonly socket: Socket | Duplex
  /** Where #sockets holds it. */
  slot: number
  active: number
  idleSince: number
  closer: http.ServerResponse | undefined
  /** Upgraded (WebSocket…): the app's now; a drain leaves it open until its deadline. */
  upgraded: 'websocket' | 'other' | undefined
  /** An HTTP/2 connection: its session, which a drain closes with GOAWAY. */
  session: http2.Http2Session | undefined
  /** The client's address, kept for an HTTP/2 connection's access log lines. */
  remote?: string | undefined
  /** A uwsgi connection: one request, answered without chunking and closed after (nginx's uwsgi module). */
  uwsgi?: boolean
}

const EMPTY = Buffer.alloc(0)

/** A connection's error (a reset, EPIPE) ends that connection, never the worker. */
function destroyOnError(this: Duplex): void {
  this.destroy()
}

/** Where a connection (or an HTTP/2 session) keeps its bookkeeping. */
const TRACKED = Symbol('troupe.tracked')
type TrackedSession = http2.Http2Session & { [TRACKED]?: Tracked }
type TrackedSocket = (Socket | Duplex) & { [TRACKED]?: Tracked }

/**
 * A WebSocket close frame, server to client (unmasked), code 1001 Going Away: what a worker
 * whose drain ran out of time says on a WebSocket the app left open, rather than a bare FIN.
 */
const GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9])

/** How long a connection told Going Away may take to close before it is destroyed, ms. */
const GOING_AWAY_MS = 1_000

/**
 * One request in flight, oldest first in `#live`, for the timeout sweep. A class, and the
 * response's 'close' listener one shared function that finds it (`res[LIVE]`): no closure is
 * made per request.
 */
class Live implements InFlight {
  controller: AbortController | undefined = undefined
  watcher: TimeoutWatcher | undefined = undefined
  /** Neighbours in the in-flight list (InFlightList), and whether it is in it. */
  prev: Live | undefined = undefined
  next: Live | undefined = undefined
  listed = false
  readonly server: WorkerServer
  readonly req: http.IncomingMessage
  readonly res: http.ServerResponse
  readonly start: number
  readonly tracked: Tracked | undefined
  constructor(
    server: WorkerServer,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    tracked: Tracked | undefined,
  ) {
    this.server = server
    this.req = req
    this.res = res
    this.start = performance.now()
    this.tracked = tracked
  }
  signal(): AbortSignal {
    this.controller ??= new AbortController()
    return this.controller.signal
  }
  onTimeout(watcher: TimeoutWatcher): void {
    this.watcher = watcher
  }
}

/**
 * The requests in flight, oldest first: a list threaded through the records themselves. A Set
 * that saw an add and a delete per request made every request's objects survive young-generation
 * GCs (--trace-gc, HTTP/2 hello under h2load: scavenges of 12–20 ms, each promoting ~7 MB,
 * against 0.6 ms without the Set); a list keeps no table of its own.
 */
class InFlightList {
  head: Live | undefined = undefined
  tail: Live | undefined = undefined

  push(live: Live): void {
    live.listed = true
    live.prev = this.tail
    if (this.tail) this.tail.next = live
    else this.head = live
    this.tail = live
  }

  /** Takes it out; a record already out (timed out, then closed) is left as it is. */
  remove(live: Live): void {
    if (!live.listed) return
    live.listed = false
    if (live.prev) live.prev.next = live.next
    else this.head = live.next
    if (live.next) live.next.prev = live.prev
    else this.tail = live.prev
    live.prev = undefined
    live.next = undefined
  }
}

const LIVE = Symbol('troupe.live')
type WithLive = http.ServerResponse & { [LIVE]: Live }

/** What an engine returns for a request its app answered synchronously: one promise, for every such request. */
export const settled: Promise<void> = Promise.resolve()

/** A short text answer (a refusal); once headers are out, the only answer left is to cut the connection. */
export const plain = (
  res: http.ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {},
) => {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra,
  })
  res.end(body)
}

/** What a shed request is told: come back in a second (gunicorn and nginx say nothing; clients and proxies honour it). */
const RETRY_AFTER = { 'retry-after': '1' }

/** The abort reason when a request ran past its timeout (as opposed to its client leaving). */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError'
}

/** The histogram bucket of a latency: the first bound it is within, or the overflow bucket. */
const bucketOf = (ms: number): number => {
  let i = 0
  while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++
  return i
}

/** How often a serving worker reports its counters, ms (only when something changed). */
const REPORT_EVERY_MS = 1_000

/**
 * Between two reports at least this long, ms. A closed connection is news for the master's
 * balancer, but at a connection per request (nginx's uwsgi_pass) a report every loop turn was
 * a sixth of the worker's time (its postMessage); the balancer does as well with every worker's
 * count this fresh.
 */
const REPORT_MIN_GAP_MS = 20

/**
 * How long a body is still read (and discarded) once its response is out — a refused one so the
 * client hears the 413, any other so a slow upload cannot hold the connection — ms.
 */
const LINGER_MS = 1_000

/**
 * Closes like nginx's lingering close once the 413 is out: FIN, then keep reading (and
 * dropping) what the client still sends, until it stops or LINGER_MS pass. node:http would
 * destroy the socket at once, and closing with the client's bytes unread resets the
 * connection: a client still writing gets EPIPE and gives up before it reads the answer.
 */
const lingerOnClose = (socket: Socket | Duplex): void => {
  const tcp = socket as Socket
  // A relayed (bridged) connection has no destroySoon; node:http ends it instead.
  if (typeof tcp.destroySoon !== 'function') return
  tcp.destroySoon = () => {
    tcp.end()
    const timer = setTimeout(() => tcp.destroy(), LINGER_MS)
    tcp.once('close', () => clearTimeout(timer))
  }
}

/**
 * 413, after reading what the client is still sending: answering mid-upload and closing
 * would reset the connection before the client reads the answer (EPIPE on its side).
 */
const refuseTooLarge = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  if (isHttp2(req)) {
    // One stream of a shared connection: answer, then ask the client to stop sending.
    res.once('finish', () => stopReading(req))
    plain(res, 413, 'Content Too Large\n')
    return
  }
  res.shouldKeepAlive = false
  lingerOnClose(req.socket)
  let answered = false
  const answer = () => {
    if (answered) return
    answered = true
    clearTimeout(timer)
    plain(res, 413, 'Content Too Large\n')
  }
  const timer = setTimeout(answer, LINGER_MS)
  if (req.complete) answer()
  else {
    req.once('end', answer)
    req.once('error', answer)
    req.resume()
  }
}

const lingerThenClose = (req: http.IncomingMessage): void => {
  const socket = req.socket
  if (socket.destroyed) return
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  const done = () => clearTimeout(timer)
  req.once('end', done)
  socket.once('close', done)
}

/** Body bytes written through a response, while an access log is on. */
const BODY_BYTES = Symbol('troupe.bodyBytes')
type Counted = http.ServerResponse & { [BODY_BYTES]: number }

const byteCount = (chunk: unknown, encoding: unknown): number => {
  if (typeof chunk === 'string')
    return typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8'
      ? Buffer.byteLength(chunk, encoding as BufferEncoding)
      : Buffer.byteLength(chunk)
  return chunk && typeof (chunk as Uint8Array).byteLength === 'number' ? (chunk as Uint8Array).byteLength : 0
}

/**
 * A response that counts the body bytes written through it, for the access log: node:http
 * keeps no such count. Used only while an access log is on. A function-style subclass, as
 * node:http's own: a `class … extends ServerResponse` measured 4% of hello-world throughput
 * in construction alone.
 */
function CountingResponse(this: Counted, req: http.IncomingMessage, options?: http.ServerOptions) {
  ;(nodeHttp.ServerResponse as unknown as (this: Counted, ...args: unknown[]) => void).call(
    this,
    req,
    options,
  )
  this[BODY_BYTES] = 0
}
Object.setPrototypeOf(CountingResponse.prototype, nodeHttp.ServerResponse.prototype)
Object.setPrototypeOf(CountingResponse, nodeHttp.ServerResponse)
const { write, end } = nodeHttp.ServerResponse.prototype
CountingResponse.prototype.write = function (
  this: Counted,
  chunk: unknown,
  encoding?: unknown,
  callback?: unknown,
) {
  this[BODY_BYTES] += byteCount(chunk, encoding)
  return (write as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback)
}
CountingResponse.prototype.end = function (
  this: Counted,
  chunk?: unknown,
  encoding?: unknown,
  callback?: unknown,
) {
  if (chunk !== undefined && typeof chunk !== 'function') this[BODY_BYTES] += byteCount(chunk, encoding)
  return (end as (...args: unknown[]) => Counted).call(this, chunk, encoding, callback)
}

/**
 * The same count for HTTP/2 responses (node:http2's compatibility response, subclassed: only
 * while an access log is on). Its `end(chunk)` writes the chunk through `write`. Made on first
 * use, as node:http2 is loaded only by a worker that serves HTTP/2.
 */
let countingHttp2: typeof http2.Http2ServerResponse | undefined
const countingHttp2Response = (): typeof http2.Http2ServerResponse =>
  (countingHttp2 ??= class CountingHttp2Response extends http2Response() {
    [BODY_BYTES] = 0
    override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      this[BODY_BYTES] += byteCount(chunk, encoding)
      return (super.write as (...args: unknown[]) => boolean)(chunk, encoding, callback)
    }
  } as unknown as typeof http2.Http2ServerResponse)

/** Bodies the client never receives: HEAD, 1xx, 204 and 304 (node:http drops what is written). */
const sentBytes = (req: http.IncomingMessage, res: http.ServerResponse): number =>
  req.method === 'HEAD' || res.statusCode < 200 || res.statusCode === 204 || res.statusCode === 304
    ? 0
    : ((res as Counted)[BODY_BYTES] ?? 0)

/**
 * One finished response as the access log reads it, made on the response path and formatted
 * later, in a batch. Referer and user agent are read only if the format prints them: reading
 * `req.headers` would build the header object for every request, which the common format
 * never needs; and nothing here keeps the request alive.
 */
const responseEntry = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  start: number,
  log: AccessLogHook,
  tracked: Tracked | undefined,
): AccessEntry => {
  const now = performance.now()
  return {
    startedAt: Date.now() - (now - start),
    durationMs: now - start,
    // An HTTP/2 stream, closed, no longer reaches its connection: the session kept the address.
    remote: tracked?.session ? tracked.remote : req.socket.remoteAddress,
    method: req.method ?? '-',
    url: req.url ?? '-',
    httpVersion: req.httpVersion,
    status: res.statusCode,
    bytes: sentBytes(req, res),
    worker: log.worker,
    referer: log.needsHeaders ? rawHeader(req.rawHeaders, 'referer') : undefined,
    userAgent: log.needsHeaders ? rawHeader(req.rawHeaders, 'user-agent') : undefined,
  }
}

/** What the worker server needs of an access log. */
export interface AccessLogHook {
  readonly worker: string
  /** The format prints the referer or the user agent. */
  readonly needsHeaders: boolean
  write(entry: AccessEntry): void
}

export interface WorkerServerHooks {
  /** Receives the counters when they changed (coalesced to one call per tick). */
  readonly onChange: (info: WorkerInfo) => void
  /** An app failure answered 500 (not a timeout or a client that left), or one in its upgrade handler: the worker logs it. */
  readonly onAppError?: (error: unknown, req: http.IncomingMessage) => void
  /** A connection refused before any request (PROXY header, uwsgi packet): the worker logs it. */
  readonly onRefused?: (error: Error, remote: string | undefined) => void
  /** The app's drain hook threw: the worker logs it, and drains as it would have. */
  readonly onDrainError?: (error: unknown) => void
  /** Hears every response once finished or cut; set, it makes the server count body bytes. */
  readonly accessLog?: AccessLogHook
}

export class WorkerServer {
  readonly http: http.Server
  readonly #args: WorkerArgs
  readonly #engine: Engine
  readonly #hooks: WorkerServerHooks
  /** The open connections, for a drain to walk (a socket finds its own by TRACKED). */
  readonly #sockets = new Slots<Tracked>()
  #requests = 0
  #inflight = 0
  #closed = 0
  #shed = 0
  /** Sheds by queueing delay when `maxQueueDelayMs` is set. */
  readonly #shedder: QueueShedder | undefined
  #timeouts = 0
  #draining = false
  #recycle: string | undefined
  #reportScheduled = false
  /** When the last report went out (performance.now()). */
  #reportedAt = Number.NEGATIVE_INFINITY
  readonly #status: [number, number, number, number, number] = [0, 0, 0, 0, 0]
  readonly #latencyCounts: number[] = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0)
  #latencySumMs = 0
  #elu = performance.eventLoopUtilization()
  #eluShare = 0
  /** `requests` and `inflight` at the last periodic report: an idle worker sends nothing. */
  #reportedRequests = 0
  #reportedInflight = 0
  readonly #live = new InFlightList()
  #upgraded = 0
  #upgrades = 0
  #refused = 0
  readonly #acceptedItself = new Map<string, number>()
  /**
   * Connections whose first bytes are still being read (a PROXY header, a uwsgi packet): not
   * yet a connection of either server, but a drain waits for them like one (a reload must not
   * cut a request on its way in).
   */
  readonly #pending = new Slots<Socket | Duplex>()
  /** Built on a PROXY listener's first connection (a BlockList is a few ms of a thread's boot); the master checked the list. */
  #proxyTrust: TrustedAddresses | undefined
  /** The response class node:http would use (the counting one while an access log is on). */
  readonly #Response: typeof http.ServerResponse
  /** Wraps a connection of an https:// bind; set when the worker has TLS settings. */
  readonly #tls: ((socket: Socket) => TLSSocket) | undefined
  /** Serves HTTP/2 connections; absent when neither ALPN h2 nor h2c is on. */
  /** Made for the first HTTP/2 connection: node:http2 loads node:tls and crypto, ~10 ms of a worker's start. */
  #h2: http2.Http2Server | undefined
  /** The session node:http2 made for the connection just handed to it ('session' is synchronous). */
  #newSession: http2.Http2Session | undefined

  constructor(args: WorkerArgs, engine: Engine, hooks: WorkerServerHooks) {
    this.#args = args
    this.#shedder = args.maxQueueDelayMs > 0 ? new QueueShedder(args.maxQueueDelayMs) : undefined
    this.#tls = args.tls ? serverTls(args.tls, args.http2.tls) : undefined
    this.#Response = hooks.accessLog
      ? (CountingResponse as unknown as typeof http.ServerResponse)
      : nodeHttp.ServerResponse
    this.#engine = engine
    this.#hooks = hooks
    this.http = nodeHttp.createServer(
      {
        keepAliveTimeout: args.keepAliveMs,
        headersTimeout: args.headersTimeoutMs,
        // Our own per-request timeout answers 504; node's would only close the socket.
        requestTimeout: 0,
        maxHeaderSize: args.maxHeaderSize,
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, args.headersTimeoutMs / 2)),
        ...(hooks.accessLog
          ? { ServerResponse: CountingResponse as unknown as typeof http.ServerResponse }
          : {}),
      },
      (req, res) => this.#onRequest(req, res),
    )
    setInterval(() => this.#sweep(), Math.max(20, Math.min(250, args.timeoutMs / 10))).unref()
    setInterval(() => this.#periodicReport(), REPORT_EVERY_MS).unref()
    // This server never listens (connections arrive from the acceptor), but node:http starts
    // its headers-timeout sweep on 'listening'; without it a slowloris client is never cut.
    this.http.emit('listening')
    // Node >= 26.5.1 (and the 22/24 lines since CVE-2026-58044) refuses a head over this count
    // with its own 431; the check in #onRequest covers releases that truncated instead.
    this.http.maxHeadersCount = args.maxHeaders
  }

  /** The HTTP/2 side: the same request path, per stream; limits from the HTTP/1.1 ones where they mean the same. */
  #http2Server(args: WorkerArgs, hooks: WorkerServerHooks): http2.Http2Server {
    const server = process.getBuiltinModule('node:http2').createServer(
      {
        settings: {
          maxConcurrentStreams: args.http2.maxConcurrentStreams,
          maxHeaderListSize: args.maxHeaderSize,
        },
        // node:http2 counts the four request pseudo-headers (:method, :path…) among the pairs.
        maxHeaderListPairs: args.maxHeaders + 4,
        Http2ServerResponse: hooks.accessLog ? countingHttp2Response() : http2Response(),
      },
      (req, res) =>
        this.#onRequest(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse),
    )
    server.on('session', (session) => {
      this.#newSession = session
    })
    return server
  }

  /**
   * Serves a connection accepted elsewhere (the master's acceptor, or this worker's own
   * listener). `bound`: the listener it came in on — an https:// one's handshake is this
   * worker's.
   */
  accept(raw: Socket | Duplex, bound?: BindAddress, itself = false): void {
    if (itself && bound) {
      const address = formatBind(bound)
      this.#acceptedItself.set(address, (this.#acceptedItself.get(address) ?? 0) + 1)
    }
    if (!bound?.proxy) {
      this.#serve(raw, bound)
      return
    }
    // A load balancer's PROXY header comes first, before TLS or uwsgi: it says who the client is.
    // Until a server has the connection, an error on it (a reset) must not take the worker down.
    raw.on('error', destroyOnError)
    const pending = this.#pending.add(raw)
    this.#proxyTrust ??= trustedAddresses(this.#args.proxyAllowFrom)
    readProxyHeader(raw, { trusted: this.#proxyTrust, timeoutMs: this.#args.headersTimeoutMs }, (answer) => {
      this.#pending.delete(pending)
      if (!answer.ok) return this.#refuse(raw, answer.error)
      if (answer.declared) setPeer(raw, answer.address, answer.port, answer.family)
      this.#serve(raw, bound, answer.declared ? answer : undefined)
    })
  }

  /**
   * A connection refused before any request (bad PROXY header or uwsgi packet): one line,
   * counted, closed. It was never tracked, so its close is counted here.
   */
  #refuse(raw: Socket | Duplex, error: Error): void {
    this.#refused++
    this.#closed++
    this.#hooks.onRefused?.(error, (raw as Socket).remoteAddress)
    raw.destroy()
    this.#scheduleReport()
  }

  #serve(
    raw: Socket | Duplex,
    bound: BindAddress | undefined,
    peer?: { address?: string | undefined; port?: number | undefined; family?: string | undefined },
  ): void {
    const tls = bound?.kind === 'tcp' && bound.tls === true
    if (tls && this.#tls) {
      const socket = this.#tls(raw as Socket)
      // The TLS socket answers for its peer from the connection under it: the declared one too.
      if (peer) setPeer(socket, peer.address, peer.port, peer.family)
      const tracked = this.#track(socket)
      // A failed handshake (a client that does not speak TLS, an unknown CA) ends the connection, not the worker.
      socket.on('error', () => socket.destroy())
      if (this.#args.http2.tls) this.#afterHandshake(socket, tracked)
      else this.http.emit('connection', socket)
      // The acceptor paused it (pauseOnConnect) so no byte was read before the handoff.
      raw.resume()
      return
    }
    if (bound?.uwsgi) {
      // node:http is not there to hear a reset (EPIPE while answering): this must be.
      raw.on('error', destroyOnError)
      const pending = this.#pending.add(raw)
      readUwsgiRequest(
        raw,
        this.#args.uwsgi,
        this.#args.headersTimeoutMs,
        (result, rest = EMPTY) => {
          this.#pending.delete(pending)
          if (result instanceof Error) return this.#refuse(raw, result)
          if (result.remoteAddress !== undefined) setPeer(raw, result.remoteAddress, result.remotePort)
          if (result.https) (raw as { encrypted?: boolean }).encrypted = true
          this.#track(raw).uwsgi = true
          if (result.upgrade) {
            // A protocol switch is node:http's to make: it gets the head to parse, as from a client.
            raw.unshift(rest.length > 0 ? Buffer.concat([result.head, rest]) : result.head)
            this.http.emit('connection', raw)
            raw.resume()
            return
          }
          const { req, res } = uwsgiExchange(raw as Socket, result, rest, this.#Response)
          this.http.emit('request', req, res)
        },
        { putBack: false },
      )
      return
    }
    const tracked = this.#track(raw)
    if (this.#args.http2.cleartext) {
      sniffPreface(raw, this.#args.headersTimeoutMs, (h2) => {
        if (h2) return this.#serveHttp2(raw, tracked)
        this.http.emit('connection', raw)
        raw.resume()
      })
      return
    }
    this.http.emit('connection', raw)
    raw.resume()
  }

  /** Counts a connection from now until it closes. */
  #track(socket: Socket | Duplex): Tracked {
    const tracked: Tracked = {
      socket,
      slot: 0,
      active: 0,
      idleSince: performance.now(),
      closer: undefined,
      upgraded: undefined,
      session: undefined,
    }
    tracked.slot = this.#sockets.add(tracked)
    ;(socket as TrackedSocket)[TRACKED] = tracked
    socket.once('close', () => {
      this.#sockets.delete(tracked.slot)
      this.#closed++
      if (tracked.upgraded) this.#upgraded--
      this.#scheduleReport()
    })
    return tracked
  }

  /**
   * Which protocol an https:// connection speaks is known once its handshake is done (ALPN):
   * only then does a server take it. Until then no server's timeout covers it, so the
   * handshake gets the headers timeout of its own.
   */
  #afterHandshake(socket: TLSSocket, tracked: Tracked): void {
    const cut = setTimeout(() => socket.destroy(), this.#args.headersTimeoutMs)
    socket.once('close', () => clearTimeout(cut))
    socket.once('secure', () => {
      clearTimeout(cut)
      handshakeDone(socket)
      if (socket.alpnProtocol === 'h2') this.#serveHttp2(socket, tracked)
      else this.http.emit('connection', socket)
    })
  }

  /**
   * An HTTP/2 connection: node:http2 makes its session, and its streams come to #onRequest
   * like HTTP/1.1 requests. Idle for the keep-alive time (#closeIdleSessions), or arriving
   * during a drain, it is closed gracefully: GOAWAY, then the streams in flight finish.
   */
  #serveHttp2(socket: Socket | Duplex, tracked: Tracked): void {
    this.#newSession = undefined
    this.#h2 ??= this.#http2Server(this.#args, this.#hooks)
    this.#h2.emit('connection', socket)
    const session = this.#newSession as TrackedSession | undefined
    if (!session) return
    this.#newSession = undefined
    tracked.session = session
    tracked.remote = (socket as Socket).remoteAddress
    session[TRACKED] = tracked
    if (this.#draining) session.close()
  }

  /**
   * Serves Upgrade requests: `handler` (the app's `upgrade`) if given, and whatever 'upgrade'
   * listeners the app put on `http` itself (ws, socket.io). Call after the app's setup. With
   * none, node:http serves an Upgrade request as an ordinary one, and so does this server.
   */
  serveUpgrades(
    handler: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => unknown) | undefined,
  ): void {
    if (handler)
      this.http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        try {
          const result = handler(req, socket, head) as unknown
          if (result instanceof Promise)
            result.catch((error: unknown) => this.#upgradeFailed(error, req, socket))
        } catch (error) {
          this.#upgradeFailed(error, req, socket)
        }
      })
    if (this.http.listenerCount('upgrade') === 0) return
    // First, before the app's listeners: the connection is counted as upgraded from here on.
    this.http.prependListener('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      const tracked = (socket as TrackedSocket)[TRACKED]
      if (!tracked || tracked.upgraded) return
      tracked.upgraded = /^websocket$/i.test(req.headers.upgrade ?? '') ? 'websocket' : 'other'
      this.#upgraded++
      this.#upgrades++
      this.#scheduleReport()
    })
  }

  /** An app's upgrade handler threw: the connection is cut (nothing else can answer it now). */
  #upgradeFailed(error: unknown, req: http.IncomingMessage, socket: Duplex): void {
    this.#hooks.onAppError?.(error, req)
    socket.destroy()
  }

  info(): WorkerInfo {
    return {
      generation: this.#args.generation,
      requests: this.#requests,
      inflight: this.#inflight,
      connections: this.#sockets.size + this.#pending.size,
      closed: this.#closed,
      shed: this.#shed,
      timeouts: this.#timeouts,
      draining: this.#draining,
      status: [...this.#status],
      latency: { counts: [...this.#latencyCounts], sumMs: this.#latencySumMs },
      elu: this.#eluShare,
      upgraded: this.#upgraded,
      upgrades: this.#upgrades,
      refused: this.#refused,
      ...(this.#acceptedItself.size > 0 ? { acceptedItself: Object.fromEntries(this.#acceptedItself) } : {}),
      ...(this.#recycle ? { recycle: this.#recycle } : {}),
    }
  }

  /**
   * HTTP/2 connections idle (no stream open) for the keep-alive time get GOAWAY, checked once a
   * second: a session timer would be refreshed on every frame it sends or receives.
   */
  #closeIdleSessions(): void {
    const now = performance.now()
    for (const { session, active, idleSince } of this.#sockets.values())
      if (session && !session.closed && active === 0 && now - idleSince >= this.#args.keepAliveMs)
        session.close()
  }

  /** Once a second while serving: the counters move with every request, not only when a connection closes. */
  #periodicReport(): void {
    if (this.#h2) this.#closeIdleSessions()
    const now = performance.eventLoopUtilization()
    this.#eluShare = performance.eventLoopUtilization(now, this.#elu).utilization
    this.#elu = now
    // Requests in flight at the last report have finished since, unless some still are: their
    // status and latency are news, though no request began and no connection closed.
    if (this.#requests === this.#reportedRequests && this.#inflight === 0 && this.#reportedInflight === 0)
      return
    this.#reportedRequests = this.#requests
    this.#reportedInflight = this.#inflight
    this.#scheduleReport()
  }

  /** Counts a finished response: its status class and how long it took. */
  #count(res: http.ServerResponse, start: number): void {
    const cls = Math.floor(res.statusCode / 100) - 1
    if (cls >= 0 && cls < 5) this.#status[cls as 0]++
    const ms = performance.now() - start
    this.#latencyCounts[bucketOf(ms)]!++
    this.#latencySumMs += ms
  }

  /** Sends the figures now: the last ones of a worker that ends, which a scheduled report would not outlive. */
  report(): void {
    this.#reportedAt = performance.now()
    this.#hooks.onChange(this.info())
  }

  #scheduleReport(): void {
    if (this.#reportScheduled) return
    this.#reportScheduled = true
    const send = () => {
      this.#reportScheduled = false
      this.#reportedAt = performance.now()
      this.#hooks.onChange(this.info())
    }
    const wait = this.#reportedAt + REPORT_MIN_GAP_MS - performance.now()
    if (wait <= 0) setImmediate(send)
    else setTimeout(send, wait)
  }

  /**
   * Per-request timeouts by one sweep over the requests in flight rather than a timer each:
   * a request is answered 504 between `timeout` and `timeout` + one sweep interval. The
   * deadline is for the response to begin: once headers are out (a stream, a long download
   * to a slow client), the handler is answering and is left to finish.
   */
  #sweep(): void {
    const now = performance.now()
    for (let live = this.#live.head, next: Live | undefined; live; live = next) {
      next = live.next
      if (now - live.start < this.#args.timeoutMs) break
      this.#live.remove(live)
      if (live.res.headersSent) continue
      this.#timeouts++
      live.controller?.abort(
        new RequestTimeoutError(`request exceeded the ${this.#args.timeoutMs} ms timeout`),
      )
      live.watcher?.timedOut()
      live.res.shouldKeepAlive = false
      plain(live.res, 504, 'Gateway Timeout: the request ran past its timeout\n')
    }
  }

  /** A response closed, finished or cut: the 'close' listener of every response. */
  static readonly #onClose = function (this: http.ServerResponse): void {
    const live = (this as WithLive)[LIVE]
    live.server.#settle(live)
  }

  #settle(live: Live): void {
    const { req, res, tracked } = live
    this.#inflight--
    // A response cut before it finished (client gone, worker destroyed it) is not counted by status.
    const whole = completed(req, res)
    if (whole) this.#count(res, live.start)
    this.#live.remove(live)
    if (!whole) live.controller?.abort(new Error('the client went away'))
    // Answered while its body is still coming: node:http reads the rest to reuse the connection,
    // for as long as the client takes — a byte a second keeps it for ever (slow-upload attack).
    // Like nginx's lingering close: LINGER_MS for the rest, then the connection goes.
    else if (!req.complete && !isHttp2(req)) lingerThenClose(req)
    this.#hooks.accessLog?.write(responseEntry(req, res, live.start, this.#hooks.accessLog, tracked))
    if (tracked) {
      tracked.active--
      tracked.idleSince = performance.now()
    }
    if (this.#args.maxRequests > 0 && this.#requests >= this.#args.maxRequests && !this.#recycle) {
      this.#recycle = 'max-requests'
      this.#scheduleReport()
    }
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.#requests++
    this.#inflight++
    // An HTTP/2 request's socket is a stand-in (a proxy made on first use) for its session's:
    // the session knows the connection.
    const h2 = isHttp2(req)
    const tracked = h2
      ? (sessionOf(req) as TrackedSession | undefined)?.[TRACKED]
      : (req.socket as TrackedSocket)[TRACKED]
    if (tracked) {
      tracked.active++
      if (tracked.uwsgi) uwsgiResponse(res)
    }
    const live = new Live(this, req, res, tracked)
    ;(res as WithLive)[LIVE] = live
    // 'close' comes once: `on` spares the wrapper `once` makes per request.
    res.on('close', WorkerServer.#onClose)
    if (this.#draining) this.#closeAfter(res, tracked)

    if (this.#inflight > this.#args.connections) {
      this.#shed++
      plain(res, 503, 'Service Unavailable: this worker is at its concurrency limit\n', RETRY_AFTER)
      return
    }
    if (this.#shedder && !this.#shedder.admit(live.start)) {
      this.#shed++
      plain(res, 503, 'Service Unavailable: this worker is overloaded\n', RETRY_AFTER)
      return
    }
    // HTTP/1 framing claiming another major version (`GET / HTTP/2.0`): node:http parses it,
    // but nothing after may take it for what it says it is. A malformed request, the client's
    // fault: 400 as gunicorn answers, not a 505 that metrics would count as the server's.
    if (!h2 && req.httpVersionMajor !== 1) {
      res.shouldKeepAlive = false
      plain(res, 400, 'Bad Request: not an HTTP/1.x request line\n')
      return
    }
    // node:http2 bounds its header list itself (maxHeaderListPairs).
    if (!h2 && req.rawHeaders.length / 2 > this.#args.maxHeaders) {
      res.shouldKeepAlive = false
      plain(res, 431, 'Request Header Fields Too Large\n')
      return
    }
    const declared = h2 ? req.headers['content-length'] : rawHeader(req.rawHeaders, 'content-length')
    if (declared !== undefined && Number(declared) > this.#args.maxBodySize) {
      refuseTooLarge(req, res)
      return
    }
    this.#live.push(live)
    const running = this.#engine(req, res, live)
    // A handler that finished synchronously hands back the one settled promise: nothing to wait for.
    if (running === settled) return
    running.catch((error: unknown) => {
      // Answered already, or its client gone (a body read cut short rejects): nobody is there to
      // answer, and what the app throws then is no failure of the app's, whether or not it had
      // asked for the request's signal.
      if (res.writableEnded || res.destroyed) return
      if (isBodyTooLarge(error)) {
        refuseTooLarge(req, res)
        return
      }
      if (!live.controller?.signal.aborted) this.#hooks.onAppError?.(error, req)
      res.shouldKeepAlive = false
      plain(res, 500, 'Internal Server Error\n')
    })
  }

  /**
   * While draining, the connection closes after its last response. With pipelining a later
   * request may arrive while an earlier one is still unanswered: the close moves to the later
   * one, or the earlier response would cut the connection before the later one is written.
   */
  #closeAfter(res: http.ServerResponse, tracked: Tracked | undefined): void {
    if (tracked?.closer && !tracked.closer.headersSent) tracked.closer.shouldKeepAlive = true
    res.shouldKeepAlive = false
    if (tracked) tracked.closer = res
  }

  /**
   * Graceful drain: every response from now on says `Connection: close`; connections idle
   * for `drainIdleMs` are closed (a keep-alive client mid-way to its next request gets that
   * request answered first). Upgraded connections are the app's: they stay open until they
   * close or `graceMs` passes; then a WebSocket is told Going Away (1001) and given a moment to
   * close. Whatever is left is destroyed. `onDeadline` hears the deadline (epoch ms) at once,
   * for the app to say goodbye first.
   */
  async drain(graceMs: number, onDeadline?: (deadline: number) => unknown): Promise<void> {
    this.#draining = true
    this.#scheduleReport()
    // HTTP/2: GOAWAY now. The client opens no new stream here; those in flight finish, then
    // the session closes its connection.
    for (const state of this.#sockets.values()) state.session?.close()
    const deadline = performance.now() + graceMs
    try {
      await onDeadline?.(Date.now() + graceMs)
    } catch (error) {
      this.#hooks.onDrainError?.(error)
    }
    while ((this.#sockets.size > 0 || this.#pending.size > 0) && performance.now() < deadline) {
      const now = performance.now()
      for (const state of this.#sockets.values()) {
        if (
          !state.upgraded &&
          !state.session &&
          state.active === 0 &&
          now - state.idleSince >= this.#args.drainIdleMs
        )
          state.socket.end()
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const left = [...this.#sockets.values()]
      .filter((state) => state.upgraded === 'websocket' && !state.socket.destroyed)
      .map((state) => state.socket)
    for (const socket of left) {
      socket.write(GOING_AWAY)
      socket.end()
    }
    const closing = performance.now() + GOING_AWAY_MS
    while (left.some((socket) => !socket.destroyed) && performance.now() < closing)
      await new Promise((resolve) => setTimeout(resolve, 25))
    for (const state of [...this.#sockets.values()]) state.socket.destroy()
    for (const socket of [...this.#pending.values()]) socket.destroy()
  }
}
