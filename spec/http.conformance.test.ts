/**
 * HTTP/1.1 conformance: every request of the vendored corpus (gunicorn's tests/requests) is
 * replayed byte for byte against troupe and against a bare node:http server with the same
 * options. troupe parses nothing itself (node:http, i.e. llhttp, does), so its layers
 * (acceptor, socket handoff to a worker thread, worker server, engine) must not change any
 * outcome: same responses, same statuses, and for accepted requests the same method, target,
 * headers, body and trailers as the app saw. Where troupe differs on purpose, the case is
 * listed in `deliberate` below (and in the README) and the difference itself is asserted.
 *
 * The corpus's own verdicts (gunicorn's) are not asserted: llhttp accepts some requests
 * gunicorn refuses and the other way round; only troupe == node:http matters here.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import { type Server, startServer } from '../runtime/master/master.ts'
import { type Echo, echo } from './fixtures/echo-app.ts'
import { type CorpusCase, type Exchange, loadCorpus, type RawResponse, replay } from './support/corpus.ts'

const corpus = loadCorpus()

const { config } = resolveConfig({
  flags: {
    app: fileURLToPath(new URL('./fixtures/echo-app.ts', import.meta.url)),
    bind: ['127.0.0.1:0'],
    workers: 1,
    placement: 'thread',
    kind: 'coroutine',
  },
})

type Outcome = 'accepted' | 'rejected' | 'partial'

/**
 * accepted: every final response is 2xx (one per request the server parsed); rejected: no
 * final response (the connection was closed or left hanging) or the first one is not 2xx;
 * partial: some requests of a pipeline were served, then one was refused.
 */
const outcomeOf = (exchange: Exchange): Outcome => {
  const finals = exchange.responses.filter((r) => r.status >= 200)
  const ok = (r: RawResponse) => r.status >= 200 && r.status < 300
  if (finals.length === 0 || !ok(finals[0]!)) return 'rejected'
  return finals.every(ok) ? 'accepted' : 'partial'
}

const parseEcho = (body: Buffer): Echo | { unparsable: string } => {
  try {
    return JSON.parse(body.toString('utf8')) as Echo
  } catch {
    return { unparsable: body.toString('latin1') }
  }
}

/** What must be equal on both servers: everything but the Date header. */
const view = (exchange: Exchange) => ({
  outcome: outcomeOf(exchange),
  statuses: exchange.responses.map((r) => r.status),
  responses: exchange.responses.map((r) => ({
    status: r.status,
    reason: r.reason,
    headers: r.headers.filter(([name]) => name !== 'date'),
    truncated: r.truncated,
    // For accepted requests, what the app saw: method, target, raw headers, body, trailers.
    ...(r.status >= 200 && r.status < 300
      ? { echo: parseEcho(r.body) }
      : { body: r.body.toString('latin1') }),
  })),
  garbage: exchange.garbage.toString('latin1'),
  closedByServer: exchange.closedByServer,
})

/** Header fields in the first request head of a raw case. */
const headerFieldCount = (raw: Buffer): number => {
  const head = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1')
  return head.split('\r\n').length - 1
}

/**
 * Cases where troupe differs from bare node:http on purpose (the README lists them). Each
 * asserts the difference, so that it stays the documented one.
 */
const deliberate: Record<string, (c: CorpusCase, troupe: Exchange, bare: Exchange) => void> = {
  // 103 header fields. troupe refuses more than `maxHeaders` (100) fields with 431 and closes
  // the connection; node:http's own limit (maxHeadersCount) is far higher, so it serves it.
  'invalid/009': (c, troupe, bare) => {
    expect(headerFieldCount(Buffer.from(c.raw_b64, 'base64'))).toBeGreaterThan(config.maxHeaders)
    expect(outcomeOf(bare)).toBe('accepted')
    expect(outcomeOf(troupe)).toBe('rejected')
    expect(troupe.responses.map((r) => r.status)).toEqual([431])
    expect(troupe.responses[0]!.headers).toContainEqual(['connection', 'close'])
    expect(troupe.closedByServer).toBe(true)
  },
  // `GET /foo HTTP/2.0` in an HTTP/1.1 request line: node:http parses it and serves it as if it
  // were 1.1; troupe answers 400 and closes (as gunicorn does), and nothing after takes
  // the request for an HTTP/2 one (that once crashed the worker).
  'invalid/version_02': (_c, troupe, bare) => {
    expect(outcomeOf(bare)).toBe('accepted')
    expect(troupe.responses.map((r) => r.status)).toEqual([400])
    expect(troupe.responses[0]!.headers).toContainEqual(['connection', 'close'])
    expect(troupe.closedByServer).toBe(true)
  },
}

let troupe: Server
let bare: http.Server
let troupeAddress: string
let bareAddress: string

beforeAll(async () => {
  troupe = await startServer(config)
  return () => troupe.stop()
})

beforeAll(async () => {
  bare = http.createServer(
    {
      keepAliveTimeout: config.keepAlive * 1000,
      headersTimeout: config.headersTimeout * 1000,
      requestTimeout: 0,
      maxHeaderSize: config.maxHeaderSize,
    },
    echo,
  )
  await new Promise<void>((resolve, reject) => {
    bare.once('error', reject)
    bare.listen(0, '127.0.0.1', resolve)
  })
  return () =>
    new Promise<void>((resolve) => {
      bare.closeAllConnections()
      bare.close(() => resolve())
    })
})

beforeAll(() => {
  troupeAddress = troupe.addresses[0]!
  bareAddress = `127.0.0.1:${(bare.address() as AddressInfo).port}`
})

/** node:http's outcome per case, for the check that the corpus exercises both paths. */
const bareOutcomes = new Map<string, { kind: CorpusCase['kind']; outcome: Outcome; bodies: number }>()

describe('HTTP/1.1 corpus: troupe answers as bare node:http does', () => {
  it('has the corpus the issue names', () => {
    expect(corpus.cases.length).toBe(corpus.count)
    expect(corpus.count).toBeGreaterThan(100)
    expect(new Set(corpus.cases.map((c) => c.id)).size).toBe(corpus.count)
  })

  it.each(corpus.cases)('$id', async (c) => {
    const bytes = Buffer.from(c.raw_b64, 'base64')
    const [fromTroupe, fromBare] = await Promise.all([
      replay(troupeAddress, bytes),
      replay(bareAddress, bytes),
    ])
    bareOutcomes.set(c.id, {
      kind: c.kind,
      outcome: outcomeOf(fromBare),
      bodies: fromBare.responses.filter((r) => r.status === 200 && (parseEcho(r.body) as Echo).body).length,
    })
    const difference = deliberate[c.id]
    if (difference) {
      difference(c, fromTroupe, fromBare)
      return
    }
    expect(outcomeOf(fromTroupe), 'accept/reject outcome').toBe(outcomeOf(fromBare))
    expect(view(fromTroupe)).toEqual(view(fromBare))
  })

  it('serves the whole corpus without a worker dying', () => {
    // The exit is recorded at once; the restart count only once the replacement starts.
    const stats = troupe.stats()
    expect(stats.workers.map((w) => w.lastExit ?? null)).toEqual([null])
    expect(stats.totals.restarts).toBe(0)
  })

  it('is not vacuous: node:http accepts some cases and rejects others', () => {
    const outcomes = [...bareOutcomes.values()]
    expect(outcomes.length).toBe(corpus.count)
    const accepted = outcomes.filter((o) => o.outcome === 'accepted')
    const rejected = outcomes.filter((o) => o.outcome === 'rejected')
    expect(accepted.length).toBeGreaterThan(10)
    expect(rejected.length).toBeGreaterThan(10)
    // Each verdict is reached on both kinds of case, and some accepted requests had a body.
    expect(accepted.some((o) => o.kind === 'valid')).toBe(true)
    expect(rejected.some((o) => o.kind === 'invalid')).toBe(true)
    expect(accepted.some((o) => o.bodies > 0)).toBe(true)
  })
})
