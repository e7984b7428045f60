/**
 * Bad traffic mixed into good: 10,000 requests (2,000 in the short form), each on its own
 * connection, 64 at a time — seven in ten an ordinary GET, one in five drawn from gunicorn's
 * HTTP/1.1 corpus (spec/fixtures/http1-requests.json), its invalid cases and its valid ones,
 * bytes exactly as the corpus has them, and one in ten a uwsgi packet on the server's uwsgi
 * listener, half as nginx sends it and half malformed (one of each way the parser refuses).
 * Bounds: every ordinary request and good packet answered 200 with the app's body, every
 * invalid one refused with a 4xx or a close (never a 5xx, never a hang), no valid corpus case
 * answered 5xx, and no worker restarted. Both placements.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { whole } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import { type Exchange, loadCorpus, replay } from '../../support/corpus.ts'
import { encodeVar, nginxVars, packetOf, uwsgiPacket } from '../../support/uwsgi-packets.ts'
import type { ChaosSettings, Fault } from '../fault.ts'
import { controlOf, startTroupe } from '../servers.ts'

const totalOf = (s: ChaosSettings) => (s.short ? 2_000 : 10_000)
const CONCURRENCY = 64
const placements = ['thread', 'process'] as const
const ORDINARY = Buffer.from(
  'GET /shop?item=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
  'latin1',
)
const HELLO = 'hello world\n'

/** A good packet: nginx's vars for `GET /shop?item=1`. */
const UWSGI_GOOD = uwsgiPacket(nginxVars({ uri: '/shop?item=1' }, [['HTTP_HOST', 'shop.example']]))
const varsOf = (vars: ReadonlyArray<readonly [string, string]>) =>
  Buffer.concat(vars.map(([k, v]) => encodeVar(k, v)))
const goodVars = nginxVars({ uri: '/shop?item=1' })
/** Malformed packets, one for each way the parser refuses one. */
const UWSGI_BAD: readonly Buffer[] = [
  uwsgiPacket(goodVars, { modifier1: 5 }),
  ORDINARY, // plain HTTP sent to the uwsgi socket
  packetOf(varsOf(goodVars), { datasize: 30 }), // the block's size cuts a var in two
  packetOf(Buffer.concat([varsOf(goodVars), Buffer.from([0xff, 0x7f, 0x41])])), // a key length past the block
  uwsgiPacket([...goodVars, ['HTTP_X_SMUGGLE', 'a\r\nX-Admin: 1']]),
  uwsgiPacket([...goodVars, ['HTTP_X_NUL', 'a\0b']]),
  uwsgiPacket([...goodVars, ['', 'empty key']]),
  uwsgiPacket(goodVars.map(([k, v]) => [k, k === 'CONTENT_LENGTH' ? '-1' : v] as const)),
  uwsgiPacket(goodVars.map(([k, v]) => [k, k === 'CONTENT_LENGTH' ? '12abc' : v] as const)),
  uwsgiPacket(goodVars.filter(([k]) => k !== 'REQUEST_METHOD')),
  uwsgiPacket(goodVars.map(([k, v]) => [k, k === 'REQUEST_METHOD' ? 'G T' : v] as const)),
  uwsgiPacket(goodVars).subarray(0, 40), // truncated: the peer stops sending mid-packet
]

const KINDS = ['ordinary', 'invalid', 'valid', 'uwsgi', 'uwsgi-bad'] as const
type Kind = (typeof KINDS)[number]
const LABELS: Record<Kind, string> = {
  ordinary: 'ordinary GET',
  invalid: 'corpus invalid cases',
  valid: 'corpus valid cases',
  uwsgi: 'good uwsgi packets',
  'uwsgi-bad': 'malformed uwsgi packets',
}
/** Of every 20: 14 ordinary, 2 invalid and 2 valid corpus cases, 1 good and 1 malformed uwsgi packet. */
const MIX: readonly Kind[] = [
  ...Array<Kind>(14).fill('ordinary'),
  'invalid',
  'invalid',
  'valid',
  'valid',
  'uwsgi',
  'uwsgi-bad',
]
interface Tally {
  sent: number
  wrong: number
  examples: string[]
}

const judge = (kind: Kind, exchange: Exchange): string | undefined => {
  const statuses = exchange.responses.map((r) => r.status)
  if (kind === 'ordinary' || kind === 'uwsgi') {
    const r = exchange.responses[0]
    return r && r.status === 200 && r.body.toString('latin1') === HELLO
      ? undefined
      : `${kind === 'uwsgi' ? 'good uwsgi packet' : 'ordinary GET'} got ${r ? `${r.status} ${JSON.stringify(r.body.toString('latin1').slice(0, 40))}` : 'no response'}`
  }
  if (statuses.some((s) => s >= 500)) return `${kind} case answered ${statuses.join(',')}`
  if (!exchange.closedByServer && exchange.responses.length === 0)
    return `${kind} case: no answer and no close`
  if (kind === 'uwsgi-bad' && statuses.length > 0)
    return `malformed uwsgi packet answered ${statuses.join(',')}`
  if (kind === 'invalid' && statuses.some((s) => s < 400) && !exchange.closedByServer)
    return `invalid case answered ${statuses.join(',')} and left open`
  return undefined
}

export const badTraffic: Fault = {
  name: 'bad-traffic',
  title: 'Bad traffic mixed into good',
  estimate: (s) => placements.length * (totalOf(s) / 1_000) * 3,
  run: async (settings, progress) => {
    const corpus = loadCorpus().cases.filter((c) => !c.gunicorn_settings)
    const invalid = corpus.filter((c) => c.kind === 'invalid').map((c) => Buffer.from(c.raw_b64, 'base64'))
    const valid = corpus.filter((c) => c.kind === 'valid').map((c) => Buffer.from(c.raw_b64, 'base64'))
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    for (const placement of placements) {
      const dir = mkdtempSync(join(tmpdir(), 'troupe-chaos-uwsgi-'))
      const uwsgiAt = `unix:${join(dir, 'uwsgi.sock')}`
      const server = await startTroupe({
        name: `troupe ×2, ${placement}`,
        flags: ['--workers', '2', '--placement', placement, '--uwsgi', uwsgiAt],
      })
      const tallies = Object.fromEntries(
        KINDS.map((kind) => [kind, { sent: 0, wrong: 0, examples: [] as string[] }]),
      ) as Record<Kind, Tally>
      try {
        const master = await controlOf(server)
        const before = await master.stats()
        let next = 0
        const total = totalOf(settings)
        const one = async (i: number) => {
          const kind = MIX[i % MIX.length]!
          const tally = tallies[kind]
          // Each kind goes through its cases in turn.
          const nth = tally.sent++
          const bytes = {
            ordinary: ORDINARY,
            invalid: invalid[nth % invalid.length]!,
            valid: valid[nth % valid.length]!,
            uwsgi: UWSGI_GOOD,
            'uwsgi-bad': UWSGI_BAD[nth % UWSGI_BAD.length]!,
          }[kind]
          const address = kind.startsWith('uwsgi') ? uwsgiAt : `127.0.0.1:${server.port}`
          let why: string | undefined
          try {
            why = judge(kind, await replay(address, bytes, { idleMs: 150, maxMs: 5_000 }))
          } catch (error) {
            why = `${kind}: ${(error as Error).message}`
          }
          if (why) {
            tally.wrong++
            if (tally.examples.length < 3) tally.examples.push(why)
          }
        }
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < total) await one(next++)
          }),
        )
        const after = await master.stats()
        master.close()
        const restarts = after.totals.restarts - before.totals.restarts
        const wrong = KINDS.reduce((n, kind) => n + tallies[kind].wrong, 0)
        const exits = server
          .events()
          .filter((e) => e.event === 'worker.exit')
          .map((e) => String(e.msg))
        progress(
          `${placement}: ${whole(total)} requests, ${wrong} wrong, ${restarts} worker restarts${exits.length ? ` (${[...new Set(exits)].slice(0, 3).join('; ')})` : ''}`,
        )
        for (const kind of KINDS)
          rows.push({
            placement,
            requests: LABELS[kind],
            sent: whole(tallies[kind].sent),
            'answered wrong': String(tallies[kind].wrong),
            examples: tallies[kind].examples.join('; '),
          })
        targets.push(
          {
            what: `${placement}: ${whole(total)} requests, one in five from the corpus, one in ten uwsgi — each answered as it should be`,
            measured: `${wrong} wrong`,
            bound: '0',
            met: wrong === 0,
          },
          {
            what: `${placement}: workers restarted by bad traffic`,
            measured: String(restarts),
            bound: '0',
            met: restarts === 0,
          },
        )
      } finally {
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const finding: Finding = {
      title: `${whole(totalOf(settings))} requests, each on its own connection, ${CONCURRENCY} at a time; one in five from gunicorn's corpus, one in ten a uwsgi packet (half malformed)`,
      method:
        'Ordinary: `GET /shop?item=1` with `Connection: close`, must get 200 and the app’s body. Corpus cases (those written for gunicorn’s default settings) replayed byte for byte (spec/support/corpus.ts): invalid ones must get a 4xx or a close, no case may get a 5xx or hang (5 s). uwsgi packets on the server’s `--uwsgi unix:` listener: a good one (nginx’s vars for the same GET) must get 200 and the body; a malformed one (modifier1 5, plain HTTP, a var cut by the block’s size, a length past the block, CR/LF or NUL in a value, an empty key, a negative or non-numeric CONTENT_LENGTH, no or a bad REQUEST_METHOD, a truncated packet) must be closed unanswered. Worker restarts from the control API’s stats, before and after.',
      rows,
      targets,
      commands: [],
    }
    return [finding]
  },
}
