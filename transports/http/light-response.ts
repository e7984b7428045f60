/**
 * The `Response` a worker's apps construct. undici's constructor wraps even a string body in
 * a web stream (12 µs of a hello world's ~25 µs, measured on Node 26); this one keeps a
 * string or bytes body as given, with status and headers, and builds the real Response only
 * when something reads the body as a web body (`text()`, `body`, `clone()` of a used one…).
 * The server writes a kept body straight to the socket.
 *
 * Invisible to apps: `instanceof Response` holds for these and for real ones (fetch's),
 * every property of `Response.prototype` is answered (validation included: a bad status,
 * status text or header throws in the constructor, as the standard's does), subclasses work,
 * and `Response.json`/`error`/`redirect` are there. Any other body (a stream, a Blob,
 * FormData, URLSearchParams) goes to a real Response at once.
 */
// undici's Response, read when the light one is installed: reading the global loads undici
// (~20 ms), which the master and the workers of (req, res) apps never need.
let Original: typeof globalThis.Response

/** A body kept as given: text, or bytes copied at construction (as the standard extracts them). */
export type KeptBody = string | Uint8Array | null

/** What the server needs to write a light response without a web stream. */
export interface LightParts {
  readonly status: number
  readonly statusText: string
  /** undefined: no header list was made (none given, none read); then `contentType` is the one header. */
  readonly headers: Headers | undefined
  readonly contentType: string | undefined
  readonly body: KeptBody
}

const TEXT_PLAIN = 'text/plain;charset=UTF-8'
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/
const nullBodyStatus = (status: number) =>
  status === 101 || status === 103 || status === 204 || status === 205 || status === 304

/**
 * `init.status` as undici's WebIDL layer converts it to an `unsigned short` (its ConvertToInt):
 * 200.5 is 200, 65736 is 200, NaN is 0, a BigInt is its number, a negative stays negative.
 */
const unsignedShort = (value: unknown): number => {
  const n = Math.trunc(Number(value))
  return Number.isFinite(n) ? n % 65_536 : 0
}

/** A code unit past U+00FF: not a ByteString, refused by WebIDL's conversion (before any range check). */
const NOT_BYTES = /[\u0100-\uffff]/

const keep = (body: unknown): KeptBody | undefined => {
  if (body === undefined || body === null) return null
  if (typeof body === 'string') return body
  // A detached buffer, or a view into shared memory, is undici's to read its own way (an empty
  // body; the view's text): both go to a real Response.
  if (body instanceof ArrayBuffer) return body.detached ? undefined : new Uint8Array(body.slice(0))
  if (ArrayBuffer.isView(body) && body.buffer instanceof ArrayBuffer && !body.buffer.detached)
    return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength))
  return undefined
}

let partsOf: (response: unknown) => LightParts | undefined = () => undefined
let wrap: (real: globalThis.Response) => Response = () => {
  throw new Error('unreachable')
}

export class Response {
  #status = 200
  #statusText = ''
  #headers: Headers | undefined
  #body: KeptBody = null
  /** The content type a body implies, while no header list was made. */
  #contentType: string | undefined
  /** The real Response, once something needed it (or from the start, for a body kept as a stream). */
  #real: globalThis.Response | undefined

  constructor(body?: ConstructorParameters<typeof globalThis.Response>[0], init?: ResponseInit) {
    const kept = keep(body)
    if (kept === undefined) {
      this.#real = new Original(body, init)
      this.#status = this.#real.status
      this.#statusText = this.#real.statusText
      this.#headers = this.#real.headers
      return
    }
    this.#setUp(kept, init, typeof kept === 'string' ? TEXT_PLAIN : undefined)
  }

  /** The standard's "initialize a response", for a kept body: validates as it does, in its order. */
  #setUp(kept: KeptBody, init: ResponseInit | undefined, contentType: string | undefined): void {
    if (init !== undefined && init !== null) {
      if (typeof init !== 'object' && typeof init !== 'function')
        throw new TypeError('Response constructor: Expected init to be a dictionary.')
      // Converted first, checked after, in the standard's order (its WebIDL layer, then "initialize a response").
      const status = init.status === undefined ? 200 : unsignedShort(init.status)
      const text = init.statusText === undefined ? '' : String(init.statusText)
      if (NOT_BYTES.test(text)) throw new TypeError('Response constructor: statusText is not a ByteString.')
      if (status < 200 || status > 599)
        throw new RangeError('init["status"] must be in the range of 200 to 599, inclusive.')
      if (!REASON_PHRASE.test(text)) throw new TypeError('Invalid statusText')
      this.#status = status
      this.#statusText = text
      if (init.headers !== undefined) {
        this.#headers = new Headers(init.headers)
        if (contentType && kept !== null && !this.#headers.has('content-type'))
          this.#headers.set('content-type', contentType)
      }
    }
    if (kept !== null && nullBodyStatus(this.#status))
      throw new TypeError(`Response constructor: Invalid response status code ${this.#status}`)
    // Without headers given, the header list is made when first read (the server needs none).
    if (!this.#headers && contentType && kept !== null) this.#contentType = contentType
    this.#body = kept
  }

  static {
    // A brand check, not `instanceof`: that holds for real Responses too (fetch's, redirect's),
    // which have no private fields to read.
    partsOf = (response) =>
      typeof response === 'object' && response !== null && #real in response && response.#real === undefined
        ? {
            status: response.#status,
            statusText: response.#statusText,
            headers: response.#headers,
            contentType: response.#contentType,
            body: response.#body,
          }
        : undefined
    wrap = (real) => {
      const light = new Response()
      light.#status = real.status
      light.#statusText = real.statusText
      light.#headers = real.headers
      light.#real = real
      return light
    }
  }

  /** The real Response, built from what was kept: for whatever reads the body as a web body. */
  #materialize(): globalThis.Response {
    this.#real ??= new Original(this.#body, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.headers,
    })
    return this.#real
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    // Responses from fetch() or Response.error() are real ones; they are Responses too.
    return this === Response
      ? Function.prototype[Symbol.hasInstance].call(Original, value)
      : Function.prototype[Symbol.hasInstance].call(this, value)
  }

  static error(): globalThis.Response {
    return Original.error()
  }

  static redirect(url: string | URL, status?: number): globalThis.Response {
    return Original.redirect(url, status as Parameters<typeof Original.redirect>[1])
  }

  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data)
    if (text === undefined) throw new TypeError('Value is not JSON serializable')
    const response = new Response()
    response.#setUp(text, init, 'application/json')
    return response
  }

  get type(): globalThis.Response['type'] {
    return this.#real?.type ?? 'default'
  }
  get url(): string {
    return this.#real?.url ?? ''
  }
  get redirected(): boolean {
    return this.#real?.redirected ?? false
  }
  get status(): number {
    return this.#status
  }
  get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299
  }
  get statusText(): string {
    return this.#statusText
  }
  get headers(): Headers {
    if (!this.#headers) {
      this.#headers = new Headers()
      if (this.#contentType) this.#headers.set('content-type', this.#contentType)
      this.#contentType = undefined
    }
    return this.#headers
  }
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#real === undefined && this.#body === null) return null
    return this.#materialize().body
  }
  get bodyUsed(): boolean {
    return this.#real?.bodyUsed ?? false
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.')
    if (this.#real !== undefined) return wrap(this.#real.clone())
    const copy = new Response()
    copy.#status = this.#status
    copy.#statusText = this.#statusText
    copy.#headers = this.#headers && new Headers(this.#headers)
    copy.#contentType = this.#contentType
    copy.#body = this.#body
    return copy
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#materialize().arrayBuffer()
  }
  blob(): Promise<Blob> {
    return this.#materialize().blob()
  }
  bytes(): Promise<Uint8Array> {
    return this.#materialize().bytes()
  }
  formData(): Promise<FormData> {
    return this.#materialize().formData()
  }
  json(): Promise<unknown> {
    return this.#materialize().json()
  }
  text(): Promise<string> {
    return this.#materialize().text()
  }
}

// As undici's (its constructor's parameters are optional, and WebIDL counts only required ones).
Object.defineProperty(Response, 'length', { value: 0, configurable: true })
Object.defineProperty(Response.prototype, Symbol.toStringTag, { value: 'Response', configurable: true })

/** Status, headers and kept body of a light response nobody turned into a real one; else undefined. */
export const lightParts = (response: unknown): LightParts | undefined => partsOf(response)

/** Puts the light Response in place of the global one (in a worker, before the app loads). Idempotent. */
export const installLightResponse = (): void => {
  if (globalThis.Response === (Response as unknown)) return
  Original = globalThis.Response
  Object.setPrototypeOf(Response.prototype, Original.prototype)
  Object.setPrototypeOf(Response, Original)
  globalThis.Response = Response as unknown as typeof Original
  // A real Response (fetch's) answers `.constructor === Response` too, as before.
  Object.defineProperty(Original.prototype, 'constructor', {
    value: Response,
    writable: true,
    configurable: true,
  })
}
