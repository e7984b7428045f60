/**
 * The uwsgi packet nginx's `uwsgi_pass` sends before a request's body (uWSGI docs, "The uwsgi
 * Protocol"): a 4-byte header (modifier1 u8, datasize u16 little-endian, modifier2 u8), then
 * `datasize` bytes of vars, each a u16 LE key length, the key, a u16 LE value length, the value.
 * Parsed from the bytes read so far: the caller keeps reading until it gets an answer.
 */

/** How much of a packet's vars block a listener accepts. */
export interface UwsgiLimits {
  /** Largest vars block, in bytes (the protocol's own ceiling is 65535). */
  readonly maxVarsSize: number
  /** Most vars in one packet. */
  readonly maxVars: number
}

/** Why a packet or the request it carries was refused: a stable slug for logs and counters. */
export type UwsgiRefusalReason =
  // The packet (uwsgi-packet.ts).
  | 'modifier1'
  | 'http-on-uwsgi'
  | 'vars-too-large'
  | 'too-many-vars'
  | 'var-overrun'
  | 'vars-leftover'
  | 'empty-key'
  | 'forbidden-byte'
  // The request its vars describe (uwsgi-request.ts).
  | 'no-method'
  | 'bad-method'
  | 'bad-content-length'
  | 'bad-var'
  // The connection (uwsgi-reader.ts).
  | 'truncated'
  | 'timeout'

/** A refusal: what to log (`message`) and what to count (`reason`). */
export interface UwsgiRefusal {
  readonly kind: 'refused'
  readonly reason: UwsgiRefusalReason
  readonly message: string
}

/** Not enough bytes yet: call again once at least `needed` bytes (in all) have arrived. */
export interface UwsgiNeedMore {
  readonly kind: 'more'
  readonly needed: number
}

/** A whole packet header and vars block. The body, if any, starts at `consumed`. */
export interface UwsgiPacket {
  readonly kind: 'packet'
  readonly modifier1: number
  readonly modifier2: number
  /** In packet order, repeats kept; keys and values decoded as latin1 (one char per byte). */
  readonly vars: Array<[key: string, value: string]>
  /** Bytes of header and vars: where the body begins. */
  readonly consumed: number
}

export type UwsgiParse = UwsgiNeedMore | UwsgiRefusal | UwsgiPacket

const HEADER_SIZE = 4
/** Longest method name looked at when telling plain HTTP from a uwsgi header. */
const METHOD_SCAN = 20

export const refusal = (reason: UwsgiRefusalReason, message: string): UwsgiRefusal => ({
  kind: 'refused',
  reason,
  message,
})

/** A key as a log can show it: quoted, escaped, cut short. */
export const quoteVar = (text: string): string =>
  JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)

/** `A`-`Z`, `-`, `_`: what the method of a plain HTTP request line starts with. */
const methodByte = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || b === 0x2d || b === 0x5f

/**
 * An HTTP request line begins with an upper-case method and a space ("GET /", "POST /"):
 * true when it does, false when it does not, undefined while the bytes so far cannot tell.
 */
const looksLikeHttp = (bytes: Buffer): boolean | undefined => {
  const scan = Math.min(bytes.length, METHOD_SCAN)
  let i = 0
  while (i < scan && methodByte(bytes[i]!)) i++
  if (i === bytes.length && i < METHOD_SCAN) return undefined
  return i > 0 && bytes[i] === 0x20
}

/** Bytes no key or value may hold: they would end a line of the HTTP head made from it. */
const FORBIDDEN = /[\r\n\0]/

/** Buffer's own latin1 decoder, without toString's encoding lookup: one char per byte. */
const latin1 = (bytes: Buffer, start: number, end: number): string =>
  (bytes as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end)

/**
 * Keys met before, by a hash of their bytes. The same few dozen keys come in every packet, and
 * making their strings anew was a third of the parse; a key found here also keeps its string
 * hash for the lookups that follow. Values are not kept: they hold cookies and tokens.
 */
const knownKeys = new Map<number, string>()
const MAX_KNOWN_KEYS = 1024
const MAX_KNOWN_KEY_LENGTH = 64

/** The key in bytes[start, end), or undefined when it holds CR, LF or NUL. */
const keyOf = (bytes: Buffer, start: number, end: number): string | undefined => {
  const length = end - start
  if (length > MAX_KNOWN_KEY_LENGTH) {
    const key = latin1(bytes, start, end)
    return FORBIDDEN.test(key) ? undefined : key
  }
  let hash = length
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b === 0x0d || b === 0x0a || b === 0x00) return undefined
    hash = (Math.imul(hash, 31) + b) | 0
  }
  const known = knownKeys.get(hash)
  if (known !== undefined && known.length === length) {
    let i = 0
    while (i < length && known.charCodeAt(i) === bytes[start + i]) i++
    if (i === length) return known
  }
  const key = latin1(bytes, start, end)
  // Bounded: a peer sending made-up keys fills it once, and it stops growing.
  if (knownKeys.size < MAX_KNOWN_KEYS) knownKeys.set(hash, key)
  return key
}

/**
 * Parses the packet at the start of `bytes`: a packet, a refusal, or how many bytes to wait
 * for. Refuses as soon as the bytes so far show the packet cannot be served (a modifier1 other
 * than 0 after one byte, an oversized vars block after four), so a bad peer is cut before it
 * sends the rest. Never throws.
 */
export const parseUwsgiPacket = (bytes: Buffer, limits: UwsgiLimits): UwsgiParse => {
  if (bytes.length === 0) return { kind: 'more', needed: 1 }
  const modifier1 = bytes[0]!
  if (modifier1 !== 0) {
    // An upper-case letter first is modifier1 65-90, which nobody sends; plain HTTP is likelier.
    if (methodByte(modifier1)) {
      const http = looksLikeHttp(bytes)
      if (http === undefined) return { kind: 'more', needed: bytes.length + 1 }
      if (http)
        return refusal(
          'http-on-uwsgi',
          'plain HTTP arrived on a uwsgi socket: this socket speaks the uwsgi protocol (nginx uwsgi_pass); point HTTP clients (proxy_pass) at an HTTP listener',
        )
    }
    return refusal('modifier1', `modifier1 ${modifier1} is not served; only 0 (WSGI/HTTP vars)`)
  }
  if (bytes.length < HEADER_SIZE) return { kind: 'more', needed: HEADER_SIZE }
  const datasize = bytes.readUInt16LE(1)
  const modifier2 = bytes[3]!
  if (datasize > limits.maxVarsSize)
    return refusal(
      'vars-too-large',
      `the vars block is ${datasize} bytes, over the limit of ${limits.maxVarsSize}`,
    )
  const end = HEADER_SIZE + datasize
  if (bytes.length < end) return { kind: 'more', needed: end }

  const vars: Array<[string, string]> = []
  let pos = HEADER_SIZE
  while (pos < end) {
    if (vars.length === limits.maxVars)
      return refusal('too-many-vars', `the packet has more than ${limits.maxVars} vars`)
    if (pos + 2 > end)
      return refusal('vars-leftover', `the vars block ends with ${end - pos} byte(s) that are not a var`)
    const keyLength = bytes.readUInt16LE(pos)
    const keyStart = pos + 2
    const keyEnd = keyStart + keyLength
    if (keyLength === 0) return refusal('empty-key', `var ${vars.length + 1} has an empty key`)
    // The key must leave room for its value's length too.
    if (keyEnd + 2 > end)
      return refusal(
        'var-overrun',
        `var ${vars.length + 1}'s key (${keyLength} bytes) runs past the end of the vars block`,
      )
    const key = keyOf(bytes, keyStart, keyEnd)
    if (key === undefined)
      return refusal(
        'forbidden-byte',
        `the key ${quoteVar(latin1(bytes, keyStart, keyEnd))} contains a CR, LF or NUL byte`,
      )
    const valueLength = bytes.readUInt16LE(keyEnd)
    const valueStart = keyEnd + 2
    const valueEnd = valueStart + valueLength
    if (valueEnd > end)
      return refusal(
        'var-overrun',
        `the value of ${quoteVar(key)} (${valueLength} bytes) runs past the end of the vars block`,
      )
    const value = latin1(bytes, valueStart, valueEnd)
    if (FORBIDDEN.test(value))
      return refusal('forbidden-byte', `the value of ${quoteVar(key)} contains a CR, LF or NUL byte`)
    vars.push([key, value])
    pos = valueEnd
  }
  return { kind: 'packet', modifier1, modifier2, vars, consumed: end }
}
