/**
 * Bad traffic mixed into good: 10,000 requests (2,000 in the short form), each on its own
 * connection, 64 at a time — four in five an ordinary GET, the rest drawn from gunicorn's
 * HTTP/1.1 corpus (spec/fixtures/http1-requests.json), its invalid cases and its valid ones,
 * bytes exactly as the corpus has them. Bounds: every ordinary request answered 200 with the
 * app's body, every invalid one refused with a 4xx or a close (never a 5xx, never a hang), no
 * valid corpus case answered 5xx, and no worker restarted. Both placements.
 */
import { whole } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import { type Exchange, loadCorpus, replay } from '../../support/corpus.ts'
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

type Kind = 'ordinary' | 'invalid' | 'valid'
interface Tally {
  sent: number
  wrong: number
  examples: string[]
}

const judge = (kind: Kind, exchange: Exchange): string | undefined => {
  const statuses = exchange.responses.map((r) => r.status)
  if (kind === 'ordinary') {
    const r = exchange.responses[0]
    return r && r.status === 200 && r.body.toString('latin1') === HELLO
      ? undefined
      : `ordinary GET got ${r ? `${r.status} ${JSON.stringify(r.body.toString('latin1').slice(0, 40))}` : 'no response'}`
  }
  if (statuses.some((s) => s >= 500)) return `${kind} case answered ${statuses.join(',')}`
  if (!exchange.closedByServer && exchange.responses.length === 0)
    return `${kind} case: no answer and no close`
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
      const server = await startTroupe({
        name: `troupe ×2, ${placement}`,
        flags: ['--workers', '2', '--placement', placement],
      })
      const tallies: Record<Kind, Tally> = {
        ordinary: { sent: 0, wrong: 0, examples: [] },
        invalid: { sent: 0, wrong: 0, examples: [] },
        valid: { sent: 0, wrong: 0, examples: [] },
      }
      try {
        const master = await controlOf(server)
        const before = await master.stats()
        let next = 0
        const total = totalOf(settings)
        const one = async (i: number) => {
          const roll = i % 5
          const kind: Kind = roll < 4 ? 'ordinary' : i % 10 === 4 ? 'invalid' : 'valid'
          const bytes =
            kind === 'ordinary'
              ? ORDINARY
              : kind === 'invalid'
                ? invalid[i % invalid.length]!
                : valid[i % valid.length]!
          const tally = tallies[kind]
          tally.sent++
          let why: string | undefined
          try {
            why = judge(kind, await replay(`127.0.0.1:${server.port}`, bytes, { idleMs: 150, maxMs: 5_000 }))
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
        const wrong = tallies.ordinary.wrong + tallies.invalid.wrong + tallies.valid.wrong
        progress(`${placement}: ${whole(total)} requests, ${wrong} wrong, ${restarts} worker restarts`)
        for (const kind of ['ordinary', 'invalid', 'valid'] as const)
          rows.push({
            placement,
            requests: kind === 'ordinary' ? 'ordinary GET' : `corpus ${kind} cases`,
            sent: whole(tallies[kind].sent),
            'answered wrong': String(tallies[kind].wrong),
            examples: tallies[kind].examples.join('; '),
          })
        targets.push(
          {
            what: `${placement}: ${whole(total)} requests, one in five from the corpus — each answered as it should be`,
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
      }
    }
    const finding: Finding = {
      title: `${whole(totalOf(settings))} requests, each on its own connection, ${CONCURRENCY} at a time; one in five from gunicorn's corpus`,
      method:
        'Ordinary: `GET /shop?item=1` with `Connection: close`, must get 200 and the app’s body. Corpus cases (those written for gunicorn’s default settings) replayed byte for byte (spec/support/corpus.ts): invalid ones must get a 4xx or a close, no case may get a 5xx or hang (5 s). Worker restarts from the control API’s stats, before and after.',
      rows,
      targets,
      commands: [],
    }
    return [finding]
  },
}
