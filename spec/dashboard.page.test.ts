/**
 * The pieces of the dashboard's page that need no browser: its bounded history (a page left
 * open for a day holds no more than the window, and nothing of workers that are gone) and how
 * it words numbers and exit reasons. The page itself, in Chromium: dashboard.browser.test.ts.
 */
import { describe, expect, it } from 'vitest'
import type { ExitReason } from '../runtime/exit.ts'
import type { Frame, Hello, Sample } from '../runtime/master/observe/dashboard/feed-types.ts'

// Plain browser modules without type declarations: imported by URL, typed here by what the test uses.
const page = (name: string) =>
  new URL(`../runtime/master/observe/dashboard/page/${name}`, import.meta.url).href
const { History } = (await import(page('history.js'))) as {
  History: new () => {
    size: number
    total: Sample[]
    acceptor: unknown[]
    workers: Map<string, Sample[]>
    reset(hello: Hello): void
    append(frame: Frame): void
  }
}
const format = (await import(page('format.js'))) as Record<string, (value: unknown) => string>

const sample = (at: number): Sample => ({
  at,
  rps: 1,
  p50Ms: 1,
  p99Ms: 2,
  status: { '1xx': 0, '2xx': 1, '3xx': 0, '4xx': 0, '5xx': 0 },
})
const snapshotWith = (ids: string[]) =>
  ({ workers: ids.map((id) => ({ id })) }) as unknown as Frame['snapshot']
const frame = (at: number, ids: string[]): Frame => ({
  snapshot: snapshotWith(ids),
  total: sample(at),
  workers: Object.fromEntries(ids.map((id) => [id, sample(at)])),
  acceptor: { at, queued: 0, refused: 0 },
  events: [],
})

describe("the page's history", () => {
  it('keeps at most historySize samples of everything, however long the page stays open', () => {
    const history = new History()
    history.reset({
      historySize: 300,
      history: { total: [sample(0)], acceptor: [], workers: { w1: [sample(0)] } },
    } as unknown as Hello)
    // A day of frames, a worker replaced under a new id every minute.
    for (let s = 1; s <= 86_400; s++) history.append(frame(s * 1_000, ['w1', `w${2 + Math.floor(s / 60)}`]))
    expect(history.total).toHaveLength(300)
    expect(history.acceptor).toHaveLength(300)
    expect(history.total.at(-1)?.at).toBe(86_400_000)
    expect([...history.workers.keys()]).toEqual(['w1', 'w1442'])
    expect(history.workers.get('w1')).toHaveLength(300)
  })

  it('forgets a worker the snapshot no longer has, and starts a new one afresh', () => {
    const history = new History()
    history.reset({
      historySize: 10,
      history: { total: [], acceptor: [], workers: { w1: [sample(0)], w2: [sample(0)], gone: [sample(0)] } },
    } as unknown as Hello)
    history.append(frame(1_000, ['w1', 'w3']))
    expect([...history.workers.keys()].sort()).toEqual(['w1', 'w3'])
    expect(history.workers.get('w1')).toHaveLength(2)
    expect(history.workers.get('w3')).toHaveLength(1)
  })
})

describe("the page's words", () => {
  it('says every exit reason as the master log does, with the crash error and exit code', () => {
    const reasons: [ExitReason, string][] = [
      [{ kind: 'normal' }, 'normal'],
      [{ kind: 'shutdown', forced: true }, 'shutdown (forced)'],
      [
        {
          kind: 'shutdown',
          forced: false,
          escalated: { name: 'EscalatedError', message: 'too many restarts' },
        },
        'shutdown: too many restarts',
      ],
      [
        { kind: 'crash', error: { name: 'TypeError', message: 'boom <b>' }, exitCode: 1 },
        'crash: boom <b> (exit code 1)',
      ],
      [{ kind: 'killed', signal: 'SIGKILL' }, 'killed by SIGKILL'],
      [{ kind: 'timeout', silentMs: 5000 }, 'no heartbeat for 5000 ms'],
      [{ kind: 'memory', detail: 'rss 600 MB over 512 MB' }, 'memory: rss 600 MB over 512 MB'],
      [{ kind: 'recycled', why: 'max requests' }, 'recycled: max requests'],
    ]
    for (const [reason, words] of reasons) expect(format.exitSummary!(reason)).toBe(words)
  })

  it('words latencies, durations and sizes for a glance; past the last bucket is ">10 s", none is "—"', () => {
    expect(['latency', 'duration', 'bytes', 'percent', 'count'].map((f) => format[f]!(null))).toEqual([
      '—',
      '—',
      '—',
      '—',
      '—',
    ])
    expect([0.4, 3.14, 41.4, 2_500, 10_001].map((ms) => format.latency!(ms))).toEqual([
      '0.40 ms',
      '3.1 ms',
      '41 ms',
      '2.5 s',
      '>10 s',
    ])
    expect([12_000, 194_000, 7_380_000, 372_000_000].map((ms) => format.duration!(ms))).toEqual([
      '12s',
      '3m14s',
      '2h03m',
      '4d07h',
    ])
    expect([512, 218_000_000].map((n) => format.bytes!(n))).toEqual(['512 B', '207.9 MB'])
    expect([7, 2.54, 812, 12_100].map((n) => format.count!(n))).toEqual(['7', '2.5', '812', '12.1k'])
    expect(format.percent!(0.314)).toBe('31%')
  })
})
