/**
 * node:http ⇄ web Request/Response, for fetch-style apps. The app gets an IncomingRequest (a
 * Request that builds what it reads, when it reads it); a light Response's kept body is written
 * straight to the socket, any other streams out with back-pressure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isHttp2, setHead } from './http2.ts'
import { IncomingRequest, installRequestUnwrap, type SignalSource } from './incoming-request.ts'
import { installLightResponse, type LightParts, lightParts } from './light-response.ts'

export { BodyTooLargeError, isBodyTooLarge } from './body-limit.ts'
export { toHeaders } from './incoming-request.ts'

/**
 * In a worker (and a pool thread), before the app loads: `Response` becomes the light one, and
 * `Request`/`fetch` learn to take the requests troupe makes. See light-response.ts and
 * incoming-request.ts for why, and why apps cannot tell.
 */
export const installFetchGlobals = (): void => {
  installLightResponse()
  installRequestUnwrap()
}

/** The Request a fetch app gets for an incoming message; `source.signal()` aborts on timeout or when the client goes. */
export const toRequest = (req: IncomingMessage, source: SignalSource, maxBody: number): Request =>
  new IncomingRequest(req, source, maxBody) as unknown as Request

/** Statuses whose response has no body, and so no Content-Length of 0 either. */
const noBody = (status: number) => status < 200 || status === 204 || status === 304

/**
 * The head of a light response as one flat list for `writeHead` (node:http's fastest way in):
 * the headers as the Headers class gives them (names lower-case, repeats joined, each
 * Set-Cookie apart), and a Content-Length for a kept body unless the app framed it itself.
 */
const flatHead = (parts: LightParts, isHead: boolean): string[] => {
  const head: string[] = []
  let framed = false
  if (parts.headers) {
    let cookies = false
    for (const [name, value] of parts.headers) {
      if (name === 'set-cookie') {
        cookies = true
        continue
      }
      if (name === 'content-length' || name === 'transfer-encoding') framed = true
      head.push(name, value)
    }
    if (cookies) for (const cookie of parts.headers.getSetCookie()) head.push('set-cookie', cookie)
  } else if (parts.contentType) head.push('content-type', parts.contentType)
  const body = parts.body
  // A HEAD answered without a body (Hono's `new Response(null, get)`) does not say how long
  // the GET's would be: a Content-Length of 0 would be a lie.
  if (!framed && !noBody(parts.status) && !(isHead && body === null))
    head.push(
      'content-length',
      body === null ? '0' : String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
    )
  return head
}

/**
 * Writes a web Response to a node:http response, honouring back-pressure. Undefined when it is
 * written already (a kept body); else a promise of the end of its stream.
 */
export const writeResponse = (response: Response, res: ServerResponse): Promise<void> | undefined => {
  const parts = lightParts(response)
  if (parts && !isHttp2(res.req)) {
    const head = flatHead(parts, res.req.method === 'HEAD')
    if (parts.statusText) res.writeHead(parts.status, parts.statusText, head)
    else res.writeHead(parts.status, head)
    if (parts.body === null) res.end()
    else res.end(parts.body)
    return
  }
  setHead(res.req, res, response.status, response.statusText, response.headers, () =>
    response.headers.getSetCookie(),
  )
  if (parts) {
    res.end(parts.body ?? undefined)
    return
  }
  if (!response.body) {
    res.end()
    return
  }
  return streamBody(response.body, res)
}

const streamBody = async (body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> => {
  // A reader loop: about twice as fast as for-await over the stream.
  const reader = body.getReader()
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
