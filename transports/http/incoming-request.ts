/**
 * The Request a fetch-style app receives: a view of the incoming message that builds nothing
 * the app does not look at. `method` is the parser's, `url` a string made on first read,
 * `headers` a Headers made on first read, `signal` the worker's (made on first read), and
 * `text()`/`json()`/`arrayBuffer()`/`bytes()` read the message straight into one buffer,
 * bounded by the body limit. Anything else (`body` as a stream, `formData()`, `blob()`,
 * `clone()`, the rarely read fields) is answered by a real undici Request made then, from the
 * same message.
 *
 * It is a Request to the app: `instanceof Request`, every property of `Request.prototype`
 * answered, a body read twice rejects with a TypeError, `clone()` of a used body throws. For
 * `new Request(request)` and `fetch(request)`, which read a real Request's private state, the
 * worker's `Request` and `fetch` hand the real one over (`installRequestUnwrap`).
 */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { BodyTooLargeError } from './body-limit.ts'
import { requestOrigin } from './http2.ts'

// undici's Request, read when the unwrap is installed: reading the global loads undici (~20 ms),
// which the master and the workers of (req, res) apps never need.
let Original: typeof globalThis.Request
const INCOMING = Symbol.for('troupe.incoming')

/** What the request needs of the worker's record of it. */
export interface SignalSource {
  signal(): AbortSignal
}

const bodiless = (method: string) => method === 'GET' || method === 'HEAD'

/** Headers as the client sent them (repeated ones appended), minus HTTP/2 pseudo-headers. */
export const toHeaders = (raw: readonly string[]): Headers => {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) {
    // `:method`, `:path`…: the request line of HTTP/2, which the Request has already.
    if (raw[i]!.charCodeAt(0) === 0x3a) continue
    try {
      headers.append(raw[i]!, raw[i + 1]!)
    } catch {
      // llhttp admits a few header values that the Headers class refuses (obs-text);
      // the Node-style view still has them in req.rawHeaders.
    }
  }
  return headers
}

/**
 * A target the WHATWG URL serializer would give back unchanged: origin-form, no dot segment,
 * no character it would percent-encode or rewrite. Anything else goes through `URL`.
 */
const PLAIN_TARGET = /^\/[\w\-.~!$&()*+,;=:@%/?]*$/
/** A dot segment (`/./`, `/..`, `%2e`), which the serializer would resolve. */
const DOT_SEGMENT = /\/\.|%2e/i
/** A port as the serializer keeps it: 1–65535, no leading zero. */
const PORT = String.raw`(?::(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d\d|655[0-2]\d|6553[0-5]))?`
/** A lower-case host name whose last label starts with a letter (no IPv4 rewriting). */
const PLAIN_HOST = new RegExp(String.raw`^(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*${PORT}$`)
/** A dotted-quad IPv4 address as the serializer writes it. */
const PLAIN_IPV4 = new RegExp(
  String.raw`^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)${PORT}$`,
)

/** The request's URL as `new Request(url).url` would give it. */
export const requestUrl = (req: IncomingMessage): string => {
  const { scheme, host } = requestOrigin(req)
  const target = req.url ?? '/'
  if (
    PLAIN_TARGET.test(target) &&
    !DOT_SEGMENT.test(target) &&
    (PLAIN_HOST.test(host) || PLAIN_IPV4.test(host)) &&
    !host.endsWith(scheme === 'https' ? ':443' : ':80')
  )
    return `${scheme}://${host}${target}`
  try {
    return new URL(`${scheme}://${host}${target}`).href
  } catch {
    // What WHATWG URL refuses still reaches the app: a Host that is no URL host with its
    // characters dropped (or as localhost), the path kept; a target that is no path (`*`) as `/`.
    const path = target.startsWith('/') ? target : '/'
    try {
      return new URL(`${scheme}://${host.replace(/[^\w.:-]/g, '') || 'localhost'}${path}`).href
    } catch {
      return new URL(`${scheme}://localhost${path}`).href
    }
  }
}

/** Reads the whole message into one buffer; rejects past `max` bytes or when the client leaves. */
const readAll = (req: IncomingMessage, max: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    // Gone already (the app awaited something else first): no event is coming any more.
    if (req.destroyed) {
      reject(new TypeError('terminated: the client went away before its body was read'))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onGone)
      req.off('close', onGone)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        done()
        reject(new BodyTooLargeError(`request body over ${max} bytes`))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      done()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    }
    const onGone = () => {
      done()
      reject(new TypeError('terminated: the client went away before its body was read'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onGone)
    req.on('close', onGone)
  })

/** UTF-8 decoding as the standard's `text()` does it: a leading byte order mark is dropped. */
const utf8 = (bytes: Buffer): string =>
  bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
    ? bytes.toString('utf8', 3)
    : bytes.toString('utf8')

const used = () => Promise.reject(new TypeError('Body is unusable: Body has already been read'))

/** The real Request with the app's current headers (for `new Request(request)`, `fetch(request)`). */
let realOf: (request: unknown) => globalThis.Request | undefined = () => undefined
/** The real Request as made, for the rarely read fields, which no header change touches. */
let madeOf: (request: IncomingRequest) => globalThis.Request = () => {
  throw new Error('unreachable')
}

export class IncomingRequest {
  readonly #req: IncomingMessage
  readonly #source: SignalSource
  readonly #maxBody: number
  #url: string | undefined
  #headers: Headers | undefined
  #real: globalThis.Request | undefined
  /** The body was read here (text(), json()…), not through a real Request. */
  #read = false

  /** `url`: made already (a pool thread's request, whose message is a stand-in with no socket). */
  constructor(req: IncomingMessage, source: SignalSource, maxBody: number, url?: string) {
    this.#req = req
    this.#source = source
    this.#maxBody = maxBody
    this.#url = url
  }

  static {
    realOf = (request) => (request instanceof IncomingRequest ? request.#current() : undefined)
    madeOf = (request) => request.#materialize()
  }

  /**
   * The real Request, with the headers as the app has them now: the real one copied them when
   * it was made, and the app may have changed them since (`request.headers.set(…)`, then
   * `fetch(request)`). Only the slow paths come here.
   */
  #current(): globalThis.Request {
    const real = this.#materialize()
    const mine = this.#headers!
    const theirs = real.headers
    for (const name of [...theirs.keys()]) theirs.delete(name)
    for (const [name, value] of mine) theirs.append(name, value)
    return real
  }

  /** The real Request for this message, made once; it streams the body if nobody read it here. */
  #materialize(): globalThis.Request {
    if (this.#real) return this.#real
    const method = this.method
    // The worker's signal, followed: `fetch(request)` and `clone()` abort with it (on the timeout,
    // or when the client goes). A dependent signal costs, but only on this slow path.
    const source = this.#source
    const init: RequestInit & { duplex?: 'half' } = { method, headers: this.headers, signal: source.signal() }
    if (!bodiless(method) && this.#read) {
      // Read here already: a body that is used, so that `new Request(request)` and
      // `fetch(request)` refuse it as the standard's would, rather than send it empty.
      init.body = new ReadableStream<Uint8Array>({ start: (c) => c.close() })
      init.duplex = 'half'
    } else if (!bodiless(method)) {
      let seen = 0
      const max = this.#maxBody
      const limited = this.#req.map((chunk: Buffer) => {
        seen += chunk.length
        if (seen > max) throw new BodyTooLargeError(`request body over ${max} bytes`)
        return chunk
      })
      init.body = Readable.toWeb(limited as Readable) as ReadableStream<Uint8Array>
      init.duplex = 'half'
    }
    const real = new Original(this.url, init)
    if (this.#read && real.body) void real.body.getReader().read()
    // The app sees the worker's signal itself, not undici's dependent one.
    Object.defineProperty(real, 'signal', { get: () => source.signal(), enumerable: true })
    this.#real = real
    return real
  }

  /** For `clientAddress(request)` (client.ts): the message, by the key it looks under. */
  get [INCOMING](): IncomingMessage {
    return this.#req
  }

  get method(): string {
    return this.#req.method ?? 'GET'
  }
  get url(): string {
    this.#url ??= requestUrl(this.#req)
    return this.#url
  }
  get headers(): Headers {
    this.#headers ??= toHeaders(this.#req.rawHeaders)
    return this.#headers
  }
  get signal(): AbortSignal {
    return this.#source.signal()
  }
  get body(): ReadableStream<Uint8Array> | null {
    // Read already, the real one's body is a used stream, as the standard's would be; and the same one each time.
    return bodiless(this.method) ? null : this.#materialize().body
  }
  get bodyUsed(): boolean {
    return this.#read || (this.#real?.bodyUsed ?? false)
  }

  /** The body's bytes, read here unless a real Request has the body; rejects if already read. */
  #bytes(): Promise<Buffer> | undefined {
    if (this.#real) return undefined
    if (this.#read) return used() as Promise<never>
    if (bodiless(this.method)) return Promise.resolve(Buffer.alloc(0))
    this.#read = true
    return readAll(this.#req, this.#maxBody)
  }

  text(): Promise<string> {
    return this.#bytes()?.then(utf8) ?? this.#real!.text()
  }
  json(): Promise<unknown> {
    return this.#bytes()?.then((bytes) => JSON.parse(utf8(bytes)) as unknown) ?? this.#real!.json()
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#bytes()?.then((bytes) => new Uint8Array(bytes).buffer) ?? this.#real!.arrayBuffer()
  }
  bytes(): Promise<Uint8Array> {
    return this.#bytes()?.then((bytes) => new Uint8Array(bytes)) ?? this.#real!.bytes()
  }
  blob(): Promise<Blob> {
    return this.#read ? (used() as Promise<never>) : this.#materialize().blob()
  }
  formData(): Promise<FormData> {
    return this.#read ? (used() as Promise<never>) : this.#materialize().formData()
  }
  clone(): globalThis.Request {
    if (this.bodyUsed) throw new TypeError('Request.clone: Body has already been consumed.')
    return this.#current().clone()
  }
}

/** `request.constructor` is the `Request` apps see (and `.name` says Request, not IncomingRequest). */
const constructedBy = (Request: unknown) => {
  for (const prototype of [IncomingRequest.prototype, Original.prototype])
    Object.defineProperty(prototype, 'constructor', { value: Request, writable: true, configurable: true })
}

/** Makes IncomingRequest a Request: its prototype chained to undici's, every other member of it answered by the real one. */
const chainToRequest = (): void => {
  Original = globalThis.Request
  // Every other property of Request.prototype (cache, mode, referrer, duplex…) from the real one.
  const own = new Set(Object.getOwnPropertyNames(IncomingRequest.prototype))
  for (const key of Object.getOwnPropertyNames(Original.prototype)) {
    if (own.has(key)) continue
    const descriptor = Object.getOwnPropertyDescriptor(Original.prototype, key)!
    if (descriptor.get)
      Object.defineProperty(IncomingRequest.prototype, key, {
        get(this: IncomingRequest) {
          return Reflect.get(madeOf(this), key)
        },
        configurable: true,
      })
    else if (typeof descriptor.value === 'function')
      Object.defineProperty(IncomingRequest.prototype, key, {
        value(this: IncomingRequest, ...args: unknown[]) {
          const real = madeOf(this)
          return (Reflect.get(real, key) as (...a: unknown[]) => unknown).apply(real, args)
        },
        writable: true,
        configurable: true,
      })
  }
  Object.setPrototypeOf(IncomingRequest.prototype, Original.prototype)
}

const UNWRAPS = Symbol.for('troupe.unwrapsIncomingRequest')

/**
 * `new Request(request)` and `fetch(request)` read a real Request's private state: given a
 * request troupe made, they get its real one. The global `Request` and `fetch` become proxies
 * of themselves that do only that (same prototype, name, length and `instanceof`).
 */
export const installRequestUnwrap = (): void => {
  const g = globalThis as unknown as Record<string | symbol, unknown>
  if ((g.Request as Record<symbol, unknown>)[UNWRAPS]) return
  chainToRequest()
  const unwrap = (args: unknown[]) => {
    if (args[0] instanceof IncomingRequest) args[0] = realOf(args[0])
    return args
  }
  g.Request = new Proxy(Original, {
    construct: (target, args, newTarget) => Reflect.construct(target, unwrap(args), newTarget),
    get: (target, key, receiver) => (key === UNWRAPS ? true : Reflect.get(target, key, receiver)),
  })
  // `new Request(…).constructor === Request`, as before the proxy.
  constructedBy(g.Request)
  const fetch = globalThis.fetch
  g.fetch = new Proxy(fetch, {
    apply: (target, self, args) => Reflect.apply(target, self, unwrap(args)),
  })
}
