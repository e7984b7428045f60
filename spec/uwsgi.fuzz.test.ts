/**
 * Fuzzing the uwsgi request side: random bytes and mutated packets (bits flipped, length fields
 * changed, cut short, CR/LF/NUL put in, bytes appended), fed whole and in random splits
 * through the pure parser, and some over real sockets through readUwsgiRequest to node:http.
 * What must hold for every input: nothing throws; every input gets an answer (a request or a
 * refusal), the same whether the bytes came whole or split; every head made is well-formed
 * HTTP/1.1: a request line and exactly the header lines the vars call for, none holding a
 * CR, LF, NUL or other control byte (a header smuggled through a var would be a line too many);
 * and over a socket, at most one request reaches the app per packet.
 *
 * The seed is fixed, so CI runs the same inputs each time; a failure prints the input's hex.
 *   Default run (a few seconds):  npx vitest run spec/uwsgi.fuzz.test.ts
 *   Long run:                     TROUPE_FUZZ_ITERATIONS=1000000 npx vitest run spec/uwsgi.fuzz.test.ts
 *   Other inputs:                 TROUPE_FUZZ_SEED=12345 (any integer) with either
 * Socket cases are one per 100 iterations (at least 100).
 */

import { once } from 'node:events'
import net from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { parseUwsgiPacket, type UwsgiLimits, type UwsgiParse } from '../transports/uwsgi/uwsgi-packet.ts'
import { uwsgiRequest } from '../transports/uwsgi/uwsgi-request.ts'
import { encodeVar, packetOf, uwsgiTestServer } from './support/uwsgi.ts'

const ITERATIONS = Number(process.env.TROUPE_FUZZ_ITERATIONS ?? 60_000)
const SEED = Number(process.env.TROUPE_FUZZ_SEED ?? 0x75_77_73_67)
const SOCKET_CASES = Math.max(100, Math.floor(ITERATIONS / 100))
const limits: UwsgiLimits = { maxVarsSize: 4096, maxVars: 10 }

/** mulberry32: a small seeded PRNG, the same numbers on every machine. */
const prng = (seed: number) => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
  return { next, int, pick, chance: (p: number) => next() < p }
}
type Rand = ReturnType<typeof prng>

const KEYS = [
  'REQUEST_METHOD',
  'REQUEST_URI',
  'PATH_INFO',
  'QUERY_STRING',
  'SERVER_PROTOCOL',
  'CONTENT_LENGTH',
  'CONTENT_TYPE',
  'SERVER_NAME',
  'SERVER_PORT',
  'REMOTE_ADDR',
  'REMOTE_PORT',
  'HTTPS',
  'REQUEST_SCHEME',
  'HTTP_HOST',
  'HTTP_COOKIE',
  'HTTP_ACCEPT',
  'HTTP_CONTENT_TYPE',
  'HTTP_CONTENT_LENGTH',
  'HTTP_TRANSFER_ENCODING',
  'HTTP_CONNECTION',
  'HTTP_UPGRADE',
  'HTTP_X_FORWARDED_FOR',
  'DOCUMENT_ROOT',
]
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'GET /x', 'G\tT', '']
/** Characters values are drawn from: plain ones, and every kind a parser must treat with care. */
const ALPHABET = 'abcXYZ019/?=&;,.-_ %#:@\t\r\n\0\x01\x1b\x7f\x80\xe9\xff"\\<>'

const randomString = (rand: Rand, max: number): string => {
  let text = ''
  const length = rand.int(max + 1)
  for (let i = 0; i < length; i++)
    text += rand.chance(0.95) ? rand.pick('abcdefgh/=;'.split('')) : rand.pick(ALPHABET.split(''))
  return text
}

const randomKey = (rand: Rand): string =>
  rand.chance(0.85)
    ? rand.pick(KEYS)
    : rand.chance(0.5)
      ? `HTTP_${randomString(rand, 8).toUpperCase()}`
      : randomString(rand, 6)

const randomValue = (rand: Rand, key: string): string => {
  if (key === 'REQUEST_METHOD') return rand.chance(0.9) ? rand.pick(METHODS) : randomString(rand, 8)
  if (key === 'CONTENT_LENGTH')
    return rand.chance(0.8)
      ? String(rand.int(rand.chance(0.5) ? 64 : 1e6))
      : rand.pick(['', '-1', '1e3', ' 5', '9007199254740993', '0x1'])
  if (key === 'SERVER_PROTOCOL') return rand.pick(['HTTP/1.0', 'HTTP/1.1', 'HTTP/2.0', ''])
  return randomString(rand, 24)
}

/** A packet of plausible vars, most with a method; its lengths consistent, its values wild. */
const randomPacket = (rand: Rand): Buffer => {
  const vars: Array<[string, string]> = []
  if (rand.chance(0.9)) vars.push(['REQUEST_METHOD', rand.chance(0.8) ? 'GET' : rand.pick(METHODS)])
  const count = rand.int(12)
  for (let i = 0; i < count; i++) {
    const key = randomKey(rand)
    vars.push([key, randomValue(rand, key)])
  }
  const block = Buffer.concat(vars.map(([k, v]) => encodeVar(k, v)))
  const body = rand.chance(0.3) ? Buffer.from(randomString(rand, 40), 'latin1') : Buffer.alloc(0)
  return Buffer.concat([packetOf(block, { modifier2: rand.chance(0.9) ? 0 : rand.int(256) }), body])
}

const FORBIDDEN = [
  Buffer.from('\r'),
  Buffer.from('\n'),
  Buffer.from('\0'),
  Buffer.from('\r\n'),
  Buffer.from('\r\nX-Smuggled: 1\r\n'),
]

/** One mutation: a bit flip, a length field changed, a cut, a CR/LF/NUL put in, bytes appended. */
const mutate = (rand: Rand, input: Buffer): Buffer => {
  const bytes = Buffer.from(input)
  switch (rand.int(6)) {
    case 0: {
      for (let n = 1 + rand.int(3); n > 0 && bytes.length > 0; n--)
        bytes[rand.int(bytes.length)]! ^= 1 << rand.int(8)
      return bytes
    }
    case 1: {
      if (bytes.length >= 3)
        bytes.writeUInt16LE(
          rand.chance(0.5)
            ? rand.int(65536)
            : Math.max(0, Math.min(65535, bytes.readUInt16LE(1) + rand.int(9) - 4)),
          1,
        )
      return bytes
    }
    case 2: {
      // A u16 anywhere in the vars block: a key's or value's length, most likely, or the bytes of one.
      if (bytes.length >= 6)
        bytes.writeUInt16LE(rand.chance(0.5) ? rand.int(65536) : rand.int(64), 4 + rand.int(bytes.length - 5))
      return bytes
    }
    case 3:
      return bytes.subarray(0, rand.int(bytes.length + 1))
    case 4: {
      const at = rand.int(bytes.length + 1)
      return Buffer.concat([bytes.subarray(0, at), rand.pick(FORBIDDEN), bytes.subarray(at)])
    }
    default:
      return Buffer.concat([bytes, Buffer.from(randomString(rand, 16), 'latin1')])
  }
}

/** An input: random bytes (often starting with modifier1 0), a valid packet, or a mutated one. */
const randomInput = (rand: Rand): Buffer => {
  const kind = rand.int(10)
  if (kind === 0) {
    const bytes = Buffer.alloc(rand.int(80))
    for (let i = 0; i < bytes.length; i++) bytes[i] = rand.int(256)
    if (bytes.length > 0 && rand.chance(0.5)) bytes[0] = 0
    if (bytes.length > 2 && rand.chance(0.5))
      bytes.writeUInt16LE(Math.max(0, bytes.length - 4 + rand.int(5) - 2), 1)
    return bytes
  }
  if (kind === 1)
    return Buffer.from(
      `${rand.pick(['GET', 'POST', 'PRI', 'OPTIONS'])} / HTTP/1.1\r\nHost: x\r\n\r\n`.slice(
        0,
        1 + rand.int(30),
      ),
    )
  let input = randomPacket(rand)
  if (kind >= 4) for (let n = 1 + rand.int(3); n > 0; n--) input = mutate(rand, input)
  return input
}

/** The parse reached by feeding `input` in the pieces `splits` cuts, as the reader does. */
const parseInPieces = (input: Buffer, splits: number[]): UwsgiParse => {
  let needed = 1
  let result: UwsgiParse = { kind: 'more', needed: 1 }
  for (const end of [...splits, input.length]) {
    if (end < needed) continue
    result = parseUwsgiPacket(input.subarray(0, end), limits)
    if (result.kind !== 'more') return result
    needed = result.needed
  }
  return result
}

const randomSplits = (rand: Rand, length: number): number[] => {
  const cuts = new Set<number>()
  const count = rand.chance(0.2) ? length : rand.int(6)
  for (let i = 0; i < count; i++) cuts.add(rand.chance(0.2) ? i : 1 + rand.int(Math.max(1, length)))
  return [...cuts].filter((cut) => cut < length).sort((a, b) => a - b)
}

const TOKEN = /^[!#$%&'*+\-.^`|~0-9A-Za-z]+$/
/** A control byte a head line may not hold (HTAB allowed in header values only). */
const controlIn = (line: string, allowTab: boolean): boolean => {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i)
    if ((c < 0x20 && !(allowTab && c === 0x09)) || c === 0x7f) return true
  }
  return false
}

/** The header lines the vars call for, counted from the vars (not from the head). */
const expectedHeaderLines = (vars: ReadonlyArray<readonly [string, string]>): number => {
  // HTTP_X_Y names the header x-y, whatever the case of its letters.
  const names = new Set(
    vars
      .filter(([key]) => key.startsWith('HTTP_'))
      .map(([key]) => key.slice(5).replaceAll('_', '-').toLowerCase()),
  )
  names.delete('content-length')
  names.delete('transfer-encoding')
  const value = (key: string) => vars.find(([k]) => k === key)?.[1] ?? ''
  if (vars.some(([key, value]) => key === 'CONTENT_TYPE' && value !== '')) names.add('content-type')
  if (!names.has('host') && value('SERVER_NAME') !== '') names.add('host')
  if (value('CONTENT_LENGTH') !== '') names.add('content-length')
  return names.size
}

/** Why `head` is not a well-formed HTTP/1.1 head for `vars`, or undefined when it is. */
const headProblem = (head: Buffer, vars: ReadonlyArray<readonly [string, string]>): string | undefined => {
  const text = head.toString('latin1')
  if (!text.endsWith('\r\n\r\n')) return 'does not end with CRLFCRLF'
  const [requestLine = '', ...headerLines] = text.slice(0, -4).split('\r\n')
  const parts = requestLine.split(' ')
  if (parts.length !== 3 || !TOKEN.test(parts[0]!) || !/^HTTP\/1\.[01]$/.test(parts[2]!))
    return `request line ${JSON.stringify(requestLine)}`
  if (parts[1] === '' || controlIn(parts[1]!, false) || /[^\x21-\x7e]/.test(parts[1]!))
    return `target ${JSON.stringify(parts[1])}`
  const expected = expectedHeaderLines(vars)
  if (headerLines.length !== expected)
    return `${headerLines.length} header lines where the vars call for ${expected}`
  const names = new Set<string>()
  for (const line of headerLines) {
    const colon = line.indexOf(': ')
    const name = line.slice(0, colon)
    if (colon <= 0 || !TOKEN.test(name) || controlIn(line.slice(colon + 2), true))
      return `header line ${JSON.stringify(line)}`
    if (names.has(name.toLowerCase())) return `header ${name} twice`
    if (name.toLowerCase() === 'transfer-encoding') return 'a Transfer-Encoding header'
    names.add(name.toLowerCase())
  }
  return undefined
}

/** What a socket should answer for `input` sent whole and then closed: a request, or a refusal's reason. */
const expectedAnswer = (input: Buffer): string => {
  const parsed = parseUwsgiPacket(input, limits)
  if (parsed.kind === 'more') return 'truncated'
  if (parsed.kind === 'refused') return parsed.reason
  const request = uwsgiRequest(parsed.vars)
  return request.kind === 'refused' ? request.reason : 'request'
}

describe(`fuzz (seed ${SEED}, ${ITERATIONS} iterations, ${SOCKET_CASES} over sockets)`, () => {
  it(
    'the parser answers every input, the same whole or in pieces; every head made is well-formed',
    () => {
      const rand = prng(SEED)
      const outcomes = new Map<string, number>()
      for (let i = 0; i < ITERATIONS; i++) {
        const input = randomInput(rand)
        const splits = randomSplits(rand, input.length)
        const context = () => `iteration ${i}, input ${input.toString('hex')}, splits ${splits}`
        let whole: UwsgiParse
        let pieces: UwsgiParse
        try {
          whole = parseUwsgiPacket(input, limits)
          pieces = parseInPieces(input, splits)
        } catch (error) {
          throw new Error(`the parser threw at ${context()}`, { cause: error })
        }
        if (JSON.stringify(whole) !== JSON.stringify(pieces))
          throw new Error(
            `whole ${JSON.stringify(whole)} but in pieces ${JSON.stringify(pieces)} at ${context()}`,
          )
        let outcome: string = whole.kind === 'refused' ? whole.reason : whole.kind
        if (whole.kind === 'packet') {
          let request: ReturnType<typeof uwsgiRequest>
          try {
            request = uwsgiRequest(whole.vars)
          } catch (error) {
            throw new Error(`uwsgiRequest threw at ${context()}`, { cause: error })
          }
          outcome = request.kind === 'refused' ? request.reason : 'request'
          if (request.kind === 'request') {
            const problem = headProblem(request.head, whole.vars)
            if (problem)
              throw new Error(
                `bad head (${problem}): ${JSON.stringify(request.head.toString('latin1'))} at ${context()}`,
              )
          }
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      }
      // The inputs reach every part of the parser: heads made, and most kinds of refusal.
      expect(outcomes.get('request') ?? 0).toBeGreaterThan(ITERATIONS / 20)
      expect(outcomes.get('more') ?? 0).toBeGreaterThan(0)
      for (const reason of [
        'modifier1',
        'http-on-uwsgi',
        'var-overrun',
        'too-many-vars',
        'vars-too-large',
        'empty-key',
        'forbidden-byte',
        'no-method',
        'bad-var',
        'bad-method',
      ])
        expect(outcomes.get(reason) ?? 0, reason).toBeGreaterThan(0)
      console.log(
        `uwsgi fuzz: ${ITERATIONS} inputs (seed ${SEED}):`,
        Object.fromEntries([...outcomes].sort()),
      )
    },
    Math.max(30_000, ITERATIONS / 5),
  )

  it(
    'over a real socket, every connection is answered (as the parser says) and at most one request reaches the app',
    async () => {
      const requests: Array<{ method: string | undefined; url: string | undefined }> = []
      const server = await uwsgiTestServer(
        (req, res) => {
          requests.push({ method: req.method, url: req.url })
          req.resume()
          req.on('end', () => res.end('ok'))
        },
        { limits, timeoutMs: 5_000 },
      )
      const rand = prng(SEED ^ 0x5eed)
      let answered = 0
      for (let i = 0; i < SOCKET_CASES; i++) {
        const input = randomInput(rand)
        const splits = randomSplits(rand, input.length)
        const context = `socket case ${i}, input ${input.toString('hex')}, splits ${splits}`
        const expected = expectedAnswer(input)
        const before = requests.length
        const socket = net.connect(server.port, '127.0.0.1')
        onTestFinished(() => {
          socket.destroy()
        })
        socket.setNoDelay(true)
        socket.on('error', () => {})
        socket.resume()
        // Not events.once: it would reject on the 'error' of a connection the server cut.
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
        await once(socket, 'connect')
        let from = 0
        for (const cut of [...splits, input.length]) {
          // A refusal closes the connection: what is left of the input has nowhere to go.
          if (socket.destroyed || !socket.writable) break
          if (cut > from) socket.write(input.subarray(from, cut), () => {})
          from = cut
          if (rand.chance(0.3)) await new Promise((resolve) => setImmediate(resolve))
        }
        socket.end()
        const answer = await Promise.race([
          server.next(),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`no answer within 15 s: ${context}`)), 15_000),
          ),
        ])
        answered++
        const got = answer instanceof Error ? (answer as { reason?: string }).reason : 'request'
        expect(got, context).toBe(expected)
        await Promise.race([
          closed,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`not closed within 15 s: ${context}`)), 15_000),
          ),
        ])
        const seen = requests.slice(before)
        expect(seen.length, context).toBeLessThanOrEqual(expected === 'request' ? 1 : 0)
        if (seen.length === 1 && answer instanceof Object && 'head' in answer) {
          const [method, url] = answer.head.toString('latin1').split(' ')
          expect(seen[0], context).toEqual({ method, url })
        }
      }
      expect(answered).toBe(SOCKET_CASES)
      expect(requests.length).toBeGreaterThan(0)
    },
    Math.max(60_000, SOCKET_CASES * 200),
  )
})
