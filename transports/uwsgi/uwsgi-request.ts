/**
 * A uwsgi packet's vars (CGI/WSGI style: REQUEST_METHOD, REQUEST_URI, HTTP_*) as the HTTP/1.1
 * request head they stand for. node:http parses that head as if the client had sent it, so a
 * worker serves uwsgi with the same parser, limits and app code as HTTP; only the framing is
 * ours to get right: the body is exactly CONTENT_LENGTH bytes (nginx de-chunks), and nothing a
 * client put in a header can add a line to the head or change its framing.
 */
import { quoteVar, refusal, type UwsgiRefusal } from './uwsgi-packet.ts'

/** What a packet's vars said about the request, beside the head that carries the rest. */
export interface UwsgiRequest {
  readonly kind: 'request'
  /** The HTTP/1.1 request head (latin1), request line to the empty line (made when first read). */
  readonly head: Buffer
  /** The request as node:http would have parsed that head: method, target, version, header list. */
  readonly method: string
  readonly url: string
  readonly httpVersion: '1.0' | '1.1'
  /** [name, value, name, value…], as `req.rawHeaders`. */
  readonly rawHeaders: readonly string[]
  /** The client asked for a protocol switch (WebSocket): HTTP_UPGRADE is present. */
  readonly upgrade: boolean
  /** REMOTE_ADDR: the client nginx served, not nginx itself. */
  readonly remoteAddress: string | undefined
  /** REMOTE_PORT, when it is a port number. */
  readonly remotePort: number | undefined
  /** The client reached nginx over TLS (HTTPS on, or an https scheme var). */
  readonly https: boolean
  /** Bytes of body that follow the packet (CONTENT_LENGTH; 0 when absent). */
  readonly contentLength: number
}

/** RFC 9110 token: a method, a header name. */
const TOKEN = /^[!#$%&'*+\-.^`|~0-9A-Za-z]+$/

/** A header value may hold no control character but HTAB (RFC 9110 §5.5). */
const hasControl = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true
  }
  return false
}

const PERCENT = Array.from({ length: 256 }, (_, c) => `%${c.toString(16).toUpperCase().padStart(2, '0')}`)

/** `text` (latin1: a char per byte) with the chars `unsafe` picks %-encoded; itself when there are none. */
const encode = (text: string, unsafe: (c: number) => boolean): string => {
  let out = ''
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (!unsafe(c)) continue
    out += text.slice(from, i) + PERCENT[c & 0xff]
    from = i + 1
  }
  return from === 0 ? text : out + text.slice(from)
}

/** What node:http refuses in a request target: controls, space, DEL, non-ASCII. */
const targetUnsafe = (c: number): boolean => c <= 0x20 || c >= 0x7f
/** Same, and `#`: QUERY_STRING holds no fragment, a `#` in it is data. */
const queryUnsafe = (c: number): boolean => c <= 0x20 || c >= 0x7f || c === 0x23
/** PATH_INFO is decoded: all but a path's own characters (RFC 3986 pchar and `/`) go back %-encoded. */
const PATH_SAFE = new Uint8Array(256)
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/")
  PATH_SAFE[c.charCodeAt(0)] = 1
const pathUnsafe = (c: number): boolean => c > 0xff || PATH_SAFE[c] === 0
const MAX_SAFE_DIGITS = /^\d{1,16}$/

/** Vars that become the request line or connection facts: one value each. */
type Singular =
  | 'REQUEST_METHOD'
  | 'REQUEST_URI'
  | 'PATH_INFO'
  | 'QUERY_STRING'
  | 'SERVER_PROTOCOL'
  | 'SERVER_NAME'
  | 'SERVER_PORT'
  | 'REMOTE_ADDR'
  | 'REMOTE_PORT'
  | 'HTTPS'
  | 'wsgi.url_scheme'
  | 'UWSGI_SCHEME'
  | 'REQUEST_SCHEME'
  | 'CONTENT_LENGTH'

const SINGULAR = new Set<string>([
  'REQUEST_METHOD',
  'REQUEST_URI',
  'PATH_INFO',
  'QUERY_STRING',
  'SERVER_PROTOCOL',
  'SERVER_NAME',
  'SERVER_PORT',
  'REMOTE_ADDR',
  'REMOTE_PORT',
  'HTTPS',
  'wsgi.url_scheme',
  'UWSGI_SCHEME',
  'REQUEST_SCHEME',
  'CONTENT_LENGTH',
])

/**
 * Headers never forwarded: framing is CONTENT_LENGTH's alone (nginx has de-chunked the body and
 * says its length there); a client's own Content-Length or Transfer-Encoding, forwarded, would
 * let it frame the body its way. Matched on the header name, so `HTTP_Content_Length` is one too.
 */
const isFraming = (lower: string): boolean => lower === 'content-length' || lower === 'transfer-encoding'

interface HeaderName {
  /** As the app's rawHeaders show it: `Accept-Encoding`. */
  readonly name: string
  /** What makes two vars the same header: `accept-encoding`. */
  readonly lower: string
}

/** HTTP_ACCEPT_ENCODING → Accept-Encoding; undefined for a var that names no header token. */
const headerName = (key: string): HeaderName | undefined => {
  const known = names.get(key)
  if (known !== undefined) return known
  const words = key.slice(5).split('_')
  let name = ''
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (i > 0) name += '-'
    name += word.charAt(0).toUpperCase() + word.slice(1).toLowerCase()
  }
  if (!TOKEN.test(name)) return undefined
  const header = { name, lower: name.toLowerCase() }
  // Remembered for the next request; a peer sending made-up names cannot grow it without end.
  if (names.size < MAX_REMEMBERED_NAMES) names.set(key, header)
  return header
}
const MAX_REMEMBERED_NAMES = 512
const names = new Map<string, HeaderName>()

/** CONTENT_TYPE's place among the headers: apart from a Content-Type sent as HTTP_CONTENT_TYPE. */
const CONTENT_TYPE_VAR = ' content-type'

/**
 * Builds the HTTP/1.1 request head that `vars` describe, or says why it cannot:
 * - request line: REQUEST_METHOD (a token), REQUEST_URI (or PATH_INFO %-encoded, then
 *   `?QUERY_STRING`), HTTP/1.0 when SERVER_PROTOCOL says so, else HTTP/1.1;
 * - headers: `HTTP_FOO_BAR` as `Foo-Bar`, CONTENT_TYPE and CONTENT_LENGTH as theirs, Host from
 *   SERVER_NAME[:SERVER_PORT] when no HTTP_HOST; a repeated var joins as HTTP joins repeated
 *   headers (Cookie with `; `, others with `, `);
 * - never a client's Content-Length or Transfer-Encoding (HTTP_CONTENT_LENGTH, HTTP_TRANSFER_ENCODING,
 *   in any case); its HTTP_CONTENT_TYPE only without CONTENT_TYPE.
 */
export const uwsgiRequest = (vars: ReadonlyArray<readonly [string, string]>): UwsgiRequest | UwsgiRefusal => {
  const single: Partial<Record<Singular, string>> = {}
  // Headers in packet order, by lower-case name; repeats joined into the first.
  const headers = new Map<string, { name: string; value: string }>()
  for (let i = 0; i < vars.length; i++) {
    const [key, value] = vars[i]!
    let header: HeaderName | undefined
    if (SINGULAR.has(key)) {
      const seen = single[key as Singular]
      if (seen === undefined) single[key as Singular] = value
      else if (seen !== value)
        return key === 'CONTENT_LENGTH'
          ? refusal('bad-content-length', 'CONTENT_LENGTH is given twice, with different values')
          : refusal('bad-var', `${key} is given twice, with different values`)
      continue
    } else if (key === 'CONTENT_TYPE') header = { name: 'Content-Type', lower: CONTENT_TYPE_VAR }
    else if (key.startsWith('HTTP_')) {
      header = headerName(key)
      if (header === undefined) return refusal('bad-var', `${quoteVar(key)} does not name an HTTP header`)
      if (isFraming(header.lower)) continue
    } else continue
    if (hasControl(value)) return refusal('bad-var', `${quoteVar(key)} has a control character in its value`)
    const seen = headers.get(header.lower)
    // An empty repeat adds no list member (nginx sends CONTENT_TYPE empty when there is none).
    if (seen === undefined) headers.set(header.lower, { name: header.name, value })
    else if (seen.value === '') seen.value = value
    else if (value !== '') seen.value += `${header.lower === 'cookie' ? '; ' : ', '}${value}`
  }

  const method = single.REQUEST_METHOD
  if (method === undefined || method === '') return refusal('no-method', 'the packet has no REQUEST_METHOD')
  if (!TOKEN.test(method))
    return refusal('bad-method', `REQUEST_METHOD ${quoteVar(method)} is not an HTTP method token`)

  const lengthVar = single.CONTENT_LENGTH ?? ''
  let contentLength = 0
  if (lengthVar !== '') {
    contentLength = MAX_SAFE_DIGITS.test(lengthVar) ? Number(lengthVar) : Number.NaN
    if (!(contentLength <= Number.MAX_SAFE_INTEGER))
      return refusal(
        'bad-content-length',
        `CONTENT_LENGTH ${quoteVar(lengthVar)} is not a byte count (digits, at most ${Number.MAX_SAFE_INTEGER})`,
      )
  }

  const https =
    /^(on|1)$/i.test(single.HTTPS ?? '') ||
    isHttps(single['wsgi.url_scheme']) ||
    isHttps(single.UWSGI_SCHEME) ||
    isHttps(single.REQUEST_SCHEME)

  const requestUri = single.REQUEST_URI ?? ''
  let target: string
  if (requestUri !== '') target = encode(requestUri, targetUnsafe)
  else {
    const path = single.PATH_INFO ?? ''
    const query = single.QUERY_STRING ?? ''
    target = `${path.startsWith('/') ? '' : '/'}${encode(path, pathUnsafe)}`
    if (query !== '') target += `?${encode(query, queryUnsafe)}`
  }
  const version = single.SERVER_PROTOCOL === 'HTTP/1.0' ? '1.0' : '1.1'
  const rawHeaders: string[] = []
  if (!headers.has('host')) {
    const host = hostOf(single.SERVER_NAME ?? '', single.SERVER_PORT ?? '', https)
    if (host !== '') {
      if (hasControl(host)) return refusal('bad-var', 'SERVER_NAME or SERVER_PORT has a control character')
      rawHeaders.push('Host', host)
    }
  }
  // nginx sends CONTENT_TYPE empty when the client sent none, and the client's own
  // Content-Type again as HTTP_CONTENT_TYPE: one Content-Type goes on, CONTENT_TYPE's if it has one.
  const typed = (headers.get(CONTENT_TYPE_VAR)?.value ?? '') !== ''
  for (const [lower, { name, value }] of headers) {
    if (lower === CONTENT_TYPE_VAR ? !typed : lower === 'content-type' && typed) continue
    rawHeaders.push(name, value)
  }
  if (lengthVar !== '') rawHeaders.push('Content-Length', String(contentLength))
  let head: Buffer | undefined

  const remotePort = single.REMOTE_PORT
  const port = remotePort !== undefined && /^\d{1,5}$/.test(remotePort) ? Number(remotePort) : undefined
  return {
    kind: 'request',
    // Only node:http needs the head as bytes (an upgrade); the worker's own path reads the parts.
    get head() {
      head ??= headBytes(method, target, version, rawHeaders)
      return head
    },
    method,
    url: target,
    httpVersion: version,
    rawHeaders,
    upgrade: headers.has('upgrade'),
    remoteAddress: single.REMOTE_ADDR || undefined,
    remotePort: port !== undefined && port <= 65535 ? port : undefined,
    https,
    contentLength,
  }
}

/** The HTTP/1.x head for a request line and header list. */
const headBytes = (
  method: string,
  target: string,
  version: string,
  rawHeaders: readonly string[],
): Buffer => {
  let text = `${method} ${target} HTTP/${version}\r\n`
  for (let i = 0; i < rawHeaders.length; i += 2) text += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  return Buffer.from(`${text}\r\n`, 'latin1')
}

const isHttps = (scheme: string | undefined): boolean => scheme !== undefined && /^https$/i.test(scheme)

/** SERVER_NAME[:SERVER_PORT], the port left out when it is the scheme's default. */
const hostOf = (name: string, port: string, https: boolean): string => {
  if (name === '') return ''
  // An IPv6 address as a host needs its brackets.
  const host = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name
  if (port === '' || port === (https ? '443' : '80')) return host
  return `${host}:${port}`
}
