/**
 * node:http ⇄ web Request/Response, for fetch-style apps. The request body streams in
 * (bounded by the body limit), the response body streams out with back-pressure.
 */
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'

export class BodyTooLargeError extends Error {
  readonly status = 413
}

const bodiless = new Set(['GET', 'HEAD'])

/** Headers as the client sent them (repeated ones appended), minus HTTP/2 pseudo-headers. */
export const toHeaders = (raw: readonly string[]): Headers => {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) {
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
export const toRequest = (req: IncomingMessage, signal: AbortSignal, maxBody: number): Request => {
  const host = req.headers.host ?? 'localhost'
  const url = `http://${host}${req.url ?? '/'}`
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
  const init: RequestInit & { duplex?: 'half' } = { method, headers: toHeaders(req.rawHeaders), signal }
  if (body) {
    init.body = body
    init.duplex = 'half'
  }
  try {
    return new Request(url, init)
  } catch {
    // A target that WHATWG URL refuses (e.g. `//x`) still reaches the app, as a path.
    return new Request(`http://${host.replace(/[^\w.:-]/g, '') || 'localhost'}/`, init)
  }
}

/** Writes a web Response to a node:http response, honouring back-pressure. */
export const writeResponse = async (response: Response, res: ServerResponse): Promise<void> => {
  res.statusCode = response.status
  if (response.statusText) res.statusMessage = response.statusText
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue
    res.setHeader(name, value)
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  if (!response.body) {
    res.end()
    return
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (res.destroyed) return
    if (!res.write(chunk)) await once(res, 'drain')
  }
  res.end()
}
