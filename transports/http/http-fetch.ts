/**
 * node:http ⇄ web Request/Response, for fetch-style apps. The request body streams in
 * (bounded by the body limit), the response body streams out with back-pressure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { linkRequest } from './client.ts'
import { requestOrigin, setHead } from './http2.ts'

/** Brand of troupe's own body-limit error: `Symbol.for`, so copies of the package agree on it. */
const TOO_LARGE = Symbol.for('troupe.bodyTooLarge')

/** The request body ran past `maxBodySize`; the server answers 413 when a handler lets it through. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError'
  /** For frameworks that map an error's `status` to a response; troupe itself goes by the brand. */
  readonly status = 413
  readonly [TOO_LARGE] = true
}

/**
 * True only for troupe's body-limit error (by its brand): an app error that merely carries
 * `status: 413` is the app's failure, answered 500 like any other.
 */
export const isBodyTooLarge = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[TOO_LARGE] === true

const bodiless = new Set(['GET', 'HEAD'])

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

/** A web Request for an incoming message; `signal` aborts when the request times out or the client goes. */
export const toRequest = (req: IncomingMessage, signal: () => AbortSignal, maxBody: number): Request => {
  const { scheme, host } = requestOrigin(req)
  const url = `${scheme}://${host}${req.url ?? '/'}`
  const method = req.method ?? 'GET'
  let body: ReadableStream<Uint8Array> | null = null
  if (!bodiless.has(method)) {
    let seen = 0
    const limited = req.map((chunk: Buffer) => {
      seen += chunk.length
      if (seen > maxBody) throw new BodyTooLargeError(`request body over ${maxBody} bytes`)
      return chunk
    })
    body = Readable.toWeb(limited as Readable) as ReadableStream<Uint8Array>
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers: toHeaders(req.rawHeaders) }
  if (body) {
    init.body = body
    init.duplex = 'half'
  }
  let request: Request
  try {
    request = new Request(url, init)
  } catch {
    // A target that WHATWG URL refuses (e.g. `//x`) still reaches the app, as a path.
    request = new Request(`${scheme}://${host.replace(/[^\w.:-]/g, '') || 'localhost'}/`, init)
  }
  // Passing `signal` to the constructor makes undici build a second, dependent signal per
  // request (about a quarter of the fetch path's cost, measured with wrk); the app sees ours.
  Object.defineProperty(request, 'signal', { get: signal, enumerable: true })
  linkRequest(request, req)
  return request
}

const RAW = Symbol('troupe.rawBody')
type RawBody = string | Uint8Array | ArrayBuffer

const isRaw = (body: unknown): body is RawBody =>
  typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer

/**
 * In a worker, `Response` becomes a subclass that remembers a string or bytes body as it was
 * given, so the server writes it directly instead of reading it back through a web stream
 * (the stream read costs more than the rest of the fetch adapter; measured with wrk).
 * `instanceof Response` and every Response method behave as before.
 */
export const installResponseCapture = (): void => {
  const Original = globalThis.Response
  if ((Original as unknown as Record<symbol, unknown>)[RAW]) return
  class Response extends Original {
    constructor(body?: ConstructorParameters<typeof Original>[0], init?: ResponseInit) {
      super(body, init)
      if (isRaw(body)) (this as unknown as Record<symbol, unknown>)[RAW] = body
    }
  }
  Object.defineProperty(Response, RAW, { value: true })
  globalThis.Response = Response as typeof globalThis.Response
}

/** The body as given to the constructor, when it is a string or bytes and nobody read it yet. */
export const rawBody = (response: Response): RawBody | undefined => {
  const raw = (response as unknown as Record<symbol, RawBody | undefined>)[RAW]
  return raw !== undefined && !response.bodyUsed ? raw : undefined
}

/** Writes a web Response to a node:http response, honouring back-pressure. */
export const writeResponse = async (response: Response, res: ServerResponse): Promise<void> => {
  setHead(res.req, res, response.status, response.statusText, response.headers, () =>
    response.headers.getSetCookie(),
  )
  const raw = rawBody(response)
  if (raw !== undefined) {
    res.end(raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw)
    return
  }
  if (!response.body) {
    res.end()
    return
  }
  // A reader loop: about twice as fast as for-await over the stream.
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (res.destroyed) {
      await reader.cancel()
      return
    }
    if (!res.write(value) && !(await drained(res))) {
      await reader.cancel()
      return
    }
  }
  res.end()
}

/**
 * Waits for room to write; false when the response closed instead (client gone, 504):
 * 'drain' alone would never come, and the producer would never hear to stop.
 */
export const drained = (res: ServerResponse): Promise<boolean> =>
  new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off('drain', onDrain)
      res.off('close', onClose)
      resolve(ok)
    }
    const onDrain = done(true)
    const onClose = done(false)
    res.once('drain', onDrain)
    res.once('close', onClose)
  })
