/**
 * The HTTP/1.1 request corpus (gunicorn's tests/requests, vendored in
 * `spec/fixtures/http1-requests.json` under gunicorn's MIT licence, `spec/fixtures/LICENSE-gunicorn`)
 * and a raw-socket client that replays its bytes exactly and splits what the server sends back
 * into responses.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'

export interface CorpusRequest {
  readonly method: string
  readonly target: string
  readonly version: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body_b64: string
}

export interface CorpusCase {
  readonly id: string
  readonly kind: 'valid' | 'invalid'
  /** The exact bytes to send, base64. */
  readonly raw_b64: string
  /** What gunicorn parses (valid cases). */
  readonly requests?: readonly CorpusRequest[]
  /** The error gunicorn raises (invalid cases). */
  readonly error?: string
  /** Non-default gunicorn settings the case was written for. */
  readonly gunicorn_settings?: Readonly<Record<string, unknown>>
}

export interface Corpus {
  readonly source: string
  readonly count: number
  readonly cases: readonly CorpusCase[]
}

/** Where the vendored corpus lies in the repo. */
export const corpusUrl = new URL('../fixtures/http1-requests.json', import.meta.url)

/** The corpus at `url` (by default the vendored one). */
export const loadCorpus = (url: URL = corpusUrl): Corpus => JSON.parse(readFileSync(url, 'utf8')) as Corpus

export interface RawResponse {
  readonly version: string
  readonly status: number
  readonly reason: string
  /** Header names lower-cased, in order, duplicates kept. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Buffer
  /** The bytes ended before the response did (or it was framed by the close). */
  readonly truncated: boolean
}

export interface Exchange {
  readonly responses: readonly RawResponse[]
  /** Everything the server sent. */
  readonly raw: Buffer
  /** The server closed (or reset) the connection before we gave up waiting. */
  readonly closedByServer: boolean
  /** Bytes after the last response that did not parse as one. */
  readonly garbage: Buffer
}

export interface ReplayOptions {
  /** Quiet time (no byte from the server) after which we half-close. */
  readonly idleMs?: number
  /** Hard cap on the whole exchange: a server that never closes is given up on then. */
  readonly maxMs?: number
}

const parseAddress = (address: string): { host: string; port: number } => {
  const colon = address.lastIndexOf(':')
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) }
}

/**
 * Connects (`HOST:PORT`, or `unix:PATH`), writes `bytes` in one go and reads. Once the server
 * has been quiet for `idleMs` (it answered what it could), half-closes so that a server waiting
 * for more of an incomplete request sees the end; then reads until the server closes (it
 * answers what it still owes first) or `maxMs` passed.
 */
export const replay = (address: string, bytes: Buffer, options: ReplayOptions = {}): Promise<Exchange> => {
  const idleMs = options.idleMs ?? 300
  const maxMs = options.maxMs ?? 3_000
  const target = address.startsWith('unix:') ? { path: address.slice('unix:'.length) } : parseAddress(address)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = net.connect({ ...target, allowHalfOpen: true })
    let halfClosed = false
    let closedByServer = false
    let done = false
    let idle: NodeJS.Timeout | undefined
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(idle)
      clearTimeout(cap)
      socket.destroy()
      const raw = Buffer.concat(chunks)
      resolve({ ...splitResponses(raw), raw, closedByServer })
    }
    const arm = () => {
      clearTimeout(idle)
      if (halfClosed) return
      idle = setTimeout(() => {
        halfClosed = true
        socket.end()
      }, idleMs)
    }
    const cap = setTimeout(finish, maxMs)
    socket.on('connect', () => {
      socket.write(bytes)
      arm()
    })
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      arm()
    })
    socket.on('end', () => {
      closedByServer = true
      finish()
    })
    socket.on('close', () => {
      closedByServer = true
      finish()
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after (or instead of) an answer is a way of closing; failing to connect is not.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        closedByServer = true
        finish()
      } else if (!done) {
        done = true
        clearTimeout(idle)
        clearTimeout(cap)
        reject(error)
      }
    })
  })
}

const CRLF = Buffer.from('\r\n')
const HEAD_END = Buffer.from('\r\n\r\n')

/** Reads a chunked body from `at`; returns its bytes and where the message ends, or undefined if cut short. */
const readChunked = (raw: Buffer, at: number): { body: Buffer; end: number } | undefined => {
  const parts: Buffer[] = []
  for (;;) {
    const eol = raw.indexOf(CRLF, at)
    if (eol < 0) return undefined
    const size = Number.parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0]!.trim(), 16)
    if (!Number.isFinite(size)) return undefined
    at = eol + 2
    if (size === 0) {
      // Trailer lines, then an empty line.
      for (;;) {
        const lineEnd = raw.indexOf(CRLF, at)
        if (lineEnd < 0) return undefined
        if (lineEnd === at) return { body: Buffer.concat(parts), end: at + 2 }
        at = lineEnd + 2
      }
    }
    if (at + size + 2 > raw.length) return undefined
    parts.push(raw.subarray(at, at + size))
    at += size + 2
  }
}

/** Splits what a server sent into HTTP/1.x responses (interim 1xx ones included). */
export const splitResponses = (raw: Buffer): { responses: RawResponse[]; garbage: Buffer } => {
  const responses: RawResponse[] = []
  let at = 0
  while (at < raw.length) {
    const headEnd = raw.indexOf(HEAD_END, at)
    const statusLine = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(
      raw.subarray(at, raw.indexOf(CRLF, at) < 0 ? raw.length : raw.indexOf(CRLF, at)).toString('latin1'),
    )
    if (headEnd < 0 || !statusLine) break
    const headers = raw
      .subarray(raw.indexOf(CRLF, at) + 2, headEnd + 2)
      .toString('latin1')
      .split('\r\n')
      .filter((line) => line.length > 0)
      .map((line): [string, string] => {
        const colon = line.indexOf(':')
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
      })
    const status = Number(statusLine[2])
    const header = (name: string) => headers.find(([n]) => n === name)?.[1]
    const base = { version: statusLine[1]!, status, reason: statusLine[3]!, headers }
    let bodyStart = headEnd + 4
    if ((status >= 100 && status < 200) || status === 204 || status === 304) {
      responses.push({ ...base, body: Buffer.alloc(0), truncated: false })
      at = bodyStart
      continue
    }
    if (/chunked/i.test(header('transfer-encoding') ?? '')) {
      const chunked = readChunked(raw, bodyStart)
      if (!chunked) {
        responses.push({ ...base, body: raw.subarray(bodyStart), truncated: true })
        at = raw.length
        break
      }
      responses.push({ ...base, body: chunked.body, truncated: false })
      at = chunked.end
      continue
    }
    const length = header('content-length')
    if (length !== undefined) {
      const end = bodyStart + Number(length)
      responses.push({ ...base, body: raw.subarray(bodyStart, end), truncated: end > raw.length })
      at = Math.min(end, raw.length)
      continue
    }
    // Framed by the close.
    responses.push({ ...base, body: raw.subarray(bodyStart), truncated: false })
    bodyStart = raw.length
    at = bodyStart
  }
  return { responses, garbage: raw.subarray(at) }
}
