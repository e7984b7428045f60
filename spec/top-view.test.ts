/** `troupe top`'s screen and arithmetic, from hand-made stats snapshots: no master, no terminal. */
import { describe, expect, it } from 'vitest'
import { LATENCY_BUCKETS_MS } from '../actors/http-worker/worker-protocol.ts'
import { clip, formatCount, formatMs } from '../runtime/master/commands/top-format.ts'
import { KEYS_HELP, type TopFrame, type TopUi, topScreen } from '../runtime/master/commands/top-view.ts'
import { resolveConfig } from '../runtime/master/config.ts'
import type { Stats, WorkerStats } from '../runtime/master/control/api.ts'
import { intervalBetween, quantileMs, workerDelta } from '../runtime/master/observe/interval.ts'

const BUCKETS = LATENCY_BUCKETS_MS.length + 1
/** A histogram with `n` requests in the bucket whose upper bound is `boundMs` (Infinity: past the last). */
const histogram = (...entries: [boundMs: number, n: number][]): number[] => {
  const counts = new Array<number>(BUCKETS).fill(0)
  for (const [bound, n] of entries) {
    const i = bound === Number.POSITIVE_INFINITY ? BUCKETS - 1 : LATENCY_BUCKETS_MS.indexOf(bound as never)
    if (i < 0) throw new Error(`no bucket bound ${bound}`)
    counts[i]! += n
  }
  return counts
}

const STARTED = 1_700_000_000_000
const config = resolveConfig({ flags: { app: '/srv/app.ts', placement: 'process' } }).config

const worker = (id: string, over: Partial<WorkerStats> & { counts?: number[] } = {}): WorkerStats => {
  const { counts = histogram(), ...rest } = over
  const n = counts.reduce((a, b) => a + b, 0)
  return {
    refusedConnections: 0,
    id,
    path: `/troupe/workers/${id}`,
    generation: 1,
    placement: 'process',
    kind: 'coroutine',
    pid: 5000 + Number(id.slice(1)),
    threadId: null,
    state: 'ready',
    startedAt: STARTED,
    uptimeMs: 0,
    restarts: 0,
    lastExit: null,
    draining: false,
    requests: n,
    inflight: 0,
    connections: 0,
    upgraded: 0,
    shed: 0,
    timeouts: 0,
    status: { '1xx': 0, '2xx': n, '3xx': 0, '4xx': 0, '5xx': 0 },
    latency: { count: n, sumMs: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, counts },
    memory: { rss: 64 * 1_048_576, heapUsed: 12 * 1_048_576 },
    elu: 0.25,
    ...rest,
  }
}

/**
 * A master's snapshot. Its totals add up `workers` and `gone`: the master keeps the counts of
 * workers that exited (earlier incarnations, scaled down, old generations).
 */
const snapshot = (
  atSeconds: number,
  workers: WorkerStats[],
  over: Partial<Stats> = {},
  gone: WorkerStats[] = [],
): Stats => ({
  instance: {
    protocol: 1,
    version: '0.1.0',
    name: 'shop',
    pid: 4121,
    control: '/run/troupe/shop.sock',
    binds: ['127.0.0.1:8000'],
    workers: workers.length,
    startedAt: STARTED,
    generation: 1,
    admin: null,
  },
  at: STARTED + atSeconds * 1_000,
  listeners: [
    {
      address: '127.0.0.1:8000',
      protocol: 'http',
      strategy: 'handoff',
      backlog: 511,
      queued: 3,
      accepted: 100,
      refused: 2,
    },
  ],
  workers,
  actors: [],
  ready: true,
  draining: false,
  totals: totalsOf([...workers, ...gone]),
  exitsByReason: {},
  workerExitsByReason: {},
  restartsByReason: {},
  config,
  ...over,
})

const totalsOf = (workers: readonly WorkerStats[]): Stats['totals'] => {
  const add = (f: (w: WorkerStats) => number) => workers.reduce((n, w) => n + f(w), 0)
  const counts = histogram().map((_, i) => add((w) => w.latency.counts[i]!))
  return {
    requests: add((w) => w.requests),
    inflight: add((w) => w.inflight),
    refusedConnections: 0,
    connections: 0,
    upgraded: 0,
    shed: 4,
    timeouts: 1,
    status: {
      '1xx': 0,
      '2xx': add((w) => w.status['2xx']),
      '3xx': 0,
      '4xx': add((w) => w.status['4xx']),
      '5xx': add((w) => w.status['5xx']),
    },
    latency: { count: add((w) => w.requests), sumMs: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, counts },
    restarts: 0,
  }
}

const connected: TopUi = { connection: { state: 'connected' }, selected: null, status: '' }
const screen = (frame: Partial<TopFrame> & Pick<TopFrame, 'current'>) =>
  topScreen({ previous: null, width: 120, height: 30, ui: connected, ...frame }).map((l) => l.text)
/** The table row of worker `id` split into its cells. */
const rowOf = (lines: readonly string[], id: string) =>
  lines
    .find((l) => l.startsWith(`${id} `))
    ?.trim()
    .split(/\s+/)

describe('quantileMs', () => {
  it('finds the bucket the rank falls in and interpolates within it', () => {
    // 100 requests: 60 in (2.5, 5] ms, 39 in (5, 10], 1 in (250, 500].
    const counts = histogram([5, 60], [10, 39], [500, 1])
    // p50: rank 50 of the 60 in (2.5, 5]: 2.5 + 2.5 × 50/60.
    expect(quantileMs(counts, 0.5)).toBeCloseTo(2.5 + (2.5 * 50) / 60)
    // p99: rank 99 is the last of (5, 10], which ends at 99.
    expect(quantileMs(counts, 0.99)).toBeCloseTo(10)
    expect(quantileMs(counts, 1)).toBeCloseTo(500)
  })

  it('is null for no requests and Infinity past the last bound', () => {
    expect(quantileMs(histogram(), 0.5)).toBeNull()
    expect(quantileMs(histogram([1, 1], [Number.POSITIVE_INFINITY, 99]), 0.99)).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('the interval between two snapshots', () => {
  it('diffs the counters: requests, status classes, histogram buckets', () => {
    const before = worker('w1', {
      counts: histogram([5, 100]),
      status: { '1xx': 0, '2xx': 95, '3xx': 0, '4xx': 5, '5xx': 0 },
    })
    const after = worker('w1', {
      counts: histogram([5, 150], [50, 50]),
      status: { '1xx': 0, '2xx': 185, '3xx': 0, '4xx': 10, '5xx': 5 },
    })
    expect(workerDelta(before, after)).toEqual({
      requests: 100,
      status4xx: 5,
      status5xx: 5,
      latency: histogram([5, 50], [50, 50]),
    })
  })

  it('counts a restarted worker from zero: its counters reset, its rate never goes negative', () => {
    const before = worker('w1', { counts: histogram([5, 1_000]) })
    // Another incarnation (new pid, new start), 30 requests since.
    const restarted = worker('w1', { pid: 6001, startedAt: STARTED + 1_500, counts: histogram([10, 30]) })
    expect(workerDelta(before, restarted)).toMatchObject({ requests: 30, latency: histogram([10, 30]) })
    // Same incarnation as far as the snapshot says, but the counters went down: a reset all the same.
    const lower = worker('w1', { counts: histogram([5, 20]) })
    expect(workerDelta(before, lower)).toMatchObject({ requests: 20, latency: histogram([5, 20]) })
  })

  it('diffs each worker of the current snapshot; a new worker counts from its start', () => {
    const previous = snapshot(10, [worker('w1', { counts: histogram([5, 100]) })])
    const current = snapshot(12, [
      worker('w1', { counts: histogram([5, 300]) }),
      worker('w2', { counts: histogram([25, 40]) }),
    ])
    const interval = intervalBetween(previous, current)!
    expect(interval.seconds).toBe(2)
    expect(interval.total.requests).toBe(240)
    expect(interval.total.latency).toEqual(histogram([5, 200], [25, 40]))
  })

  it("takes the totals from the master's, which keep a worker that left within the interval", () => {
    const w1 = worker('w1', { counts: histogram([5, 100]) })
    const w2 = worker('w2', { counts: histogram([5, 100]) })
    const previous = snapshot(10, [w1, w2])
    // w2 served 50 more, then was scaled down; w1 served 10 more.
    const w2Last = worker('w2', { counts: histogram([5, 150]) })
    const current = snapshot(11, [worker('w1', { counts: histogram([5, 110]) })], {}, [w2Last])
    const interval = intervalBetween(previous, current)!
    expect(interval.total.requests).toBe(60)
    expect([...interval.workers.keys()]).toEqual(['w1'])
    expect(interval.workers.get('w1')!.requests).toBe(10)
  })

  it('has no interval without a previous snapshot, or across masters', () => {
    const current = snapshot(12, [worker('w1')])
    expect(intervalBetween(null, current)).toBeNull()
    const other = snapshot(10, [worker('w1')], {
      instance: { ...current.instance, pid: 9 },
    })
    expect(intervalBetween(other, current)).toBeNull()
  })
})

describe('the screen', () => {
  const previous = snapshot(60, [
    worker('w1', { counts: histogram([5, 1_000]) }),
    worker('w2', {
      counts: histogram([5, 500]),
      status: { '1xx': 0, '2xx': 500, '3xx': 0, '4xx': 0, '5xx': 0 },
    }),
  ])
  const current = snapshot(
    62,
    [
      // 400 more requests in 2 s (200 req/s), all within (2.5, 5] ms.
      worker('w1', { counts: histogram([5, 1_400]), inflight: 3 }),
      // 100 more (50 req/s), 10 of them 5xx: 90 within (2.5, 5] and 10 within (1, 2.5] s.
      worker('w2', {
        counts: histogram([5, 590], [2_500, 10]),
        status: { '1xx': 0, '2xx': 590, '3xx': 0, '4xx': 0, '5xx': 10 },
      }),
    ],
    { instance: { ...previous.instance, generation: 3 } },
  )

  it('shows the master, its listeners and the totals of the interval', () => {
    const lines = screen({ previous, current })
    expect(lines[0]).toBe('troupe shop  pid 4121  up 1m02s  generation 3  handoff  process × coroutine')
    expect(lines[1]).toBe('listen  127.0.0.1:8000  queue 3  refused 2')
    // 500 requests in 2 s; the p50 (rank 250 of 490 in (2.5, 5]) and the p99 (rank 495: in (1, 2.5] s).
    expect(lines[2]).toBe(
      `250 req/s  p50 ${formatMs(2.5 + (2.5 * 250) / 490, 10_000)}  p99 ${formatMs(1_000 + (1_500 * 5) / 10, 10_000)}  ` +
        '5xx 5.0/s  shed 4  timeouts 1  workers 2/2 ready  restarts 0',
    )
  })

  it('has a row per worker: its pid, state, rate, latency of the interval and counters', () => {
    const lines = screen({ previous, current })
    expect(lines[4]).toMatch(
      /^ID\s+PID\/THREAD\s+STATE\s+GEN\s+REQ\/S\s+INFLIGHT\s+P50\s+P99\s+4XX\s+5XX\s+RESTARTS\s+MEM MB\s+ELU%$/,
    )
    expect(rowOf(lines, 'w1')).toEqual([
      'w1',
      '5001',
      'ready',
      '1',
      '200',
      '3',
      '3.8ms',
      '5.0ms',
      '0',
      '0',
      '0',
      '64',
      '25',
    ])
    expect(rowOf(lines, 'w2')).toEqual([
      'w2',
      '5002',
      'ready',
      '1',
      '50.0',
      '0',
      '3.9ms',
      '2.4s',
      '0',
      '10',
      '0',
      '64',
      '25',
    ])
  })

  it('shows no rate before a second snapshot, and none below zero for a restarted worker', () => {
    expect(rowOf(screen({ current }), 'w1')).toEqual([
      'w1',
      '5001',
      'ready',
      '1',
      '-',
      '3',
      '-',
      '-',
      '0',
      '0',
      '0',
      '64',
      '25',
    ])
    const restarted = snapshot(63, [
      worker('w1', { pid: 7001, startedAt: STARTED + 62_500, restarts: 1, counts: histogram([1, 5]) }),
      current.workers[1]!,
    ])
    const row = rowOf(screen({ previous: current, current: restarted }), 'w1')!
    expect(row.slice(0, 5)).toEqual(['w1', '7001', 'ready', '1', '5.0'])
    expect(row[10]).toBe('1')
  })

  it('shows a thread worker as the master pid and its thread, with its heap as memory', () => {
    const thread = worker('w1', { placement: 'thread', pid: 4121, threadId: 3 })
    expect(rowOf(screen({ current: snapshot(1, [thread]) }), 'w1')).toEqual(
      expect.arrayContaining(['4121', 't3', '12']),
    )
  })

  it('fits the terminal: no line wider than it, exactly its height, the keys on the last line', () => {
    for (const [width, height] of [
      [120, 30],
      [60, 12],
      [20, 5],
    ] as const) {
      const lines = topScreen({
        previous,
        current,
        width,
        height,
        ui: { ...connected, status: 'x'.repeat(200) },
      })
      expect(lines).toHaveLength(height)
      for (const { text } of lines) expect(Array.from(text).length).toBeLessThanOrEqual(width)
      expect(lines.at(-1)!.text).toBe(clip(KEYS_HELP, width))
      expect(lines.at(-2)!.text).toBe(clip('x'.repeat(200), width))
    }
  })

  it('keeps the selected worker in view when the table does not clip, and says how many are hidden', () => {
    const many = snapshot(
      62,
      Array.from({ length: 20 }, (_, i) => worker(`w${i + 1}`)),
    )
    const lines = topScreen({
      previous: null,
      current: many,
      width: 120,
      height: 12,
      ui: { ...connected, selected: 'w15' },
    })
    const selected = lines.filter((l) => l.style === 'inverse' && l.text.startsWith('w'))
    expect(selected.map((l) => l.text.split(' ')[0])).toEqual(['w15'])
    expect(lines.map((l) => l.text)).toContainEqual(expect.stringMatching(/^… \d+ more/))
  })

  it('says when the master is gone and top is reconnecting, with what it last saw', () => {
    const lines = screen({
      current,
      ui: {
        ...connected,
        connection: { state: 'lost', target: '/tmp/c.sock', reason: 'connection refused' },
      },
    })
    expect(lines[0]).toBe('troupe top: the master is gone (connection refused)')
    expect(lines[1]).toBe('reconnecting to /tmp/c.sock every second…')
    expect(lines[2]).toMatch(/^last seen: troupe shop {2}pid 4121/)
    expect(lines.some((l) => l.startsWith('w1 '))).toBe(false)
    const connecting = screen({
      current: null,
      ui: { ...connected, connection: { state: 'connecting', target: '/run/troupe/shop.sock' } },
    })
    expect(connecting[0]).toBe('troupe top: connecting to the master (/run/troupe/shop.sock)…')
  })
})

describe('formats', () => {
  it('keeps numbers short', () => {
    expect([0.44, 12.5, 873.2, 12_345, 2_500_000].map(formatCount)).toEqual([
      '0.4',
      '12.5',
      '873',
      '12.3k',
      '2.5M',
    ])
    expect([0.42, 41.3, 1_234, Number.POSITIVE_INFINITY, null].map((v) => formatMs(v, 10_000))).toEqual([
      '0.4ms',
      '41ms',
      '1.2s',
      '>10s',
      '-',
    ])
    expect(clip('abcdef', 4)).toBe('abc…')
    expect(clip('abc', 4)).toBe('abc')
  })
})
