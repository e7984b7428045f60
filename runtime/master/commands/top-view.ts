/**
 * `troupe top`'s screen as a pure function: two stats snapshots, the terminal's size and the
 * UI's state in, the lines to paint out. Everything `top` shows is decided here, so it is
 * tested without a terminal; top.ts only paints the lines and reads the keys.
 */
import { LATENCY_BUCKETS_MS } from '../../../actors/http-worker/worker-protocol.ts'
import type { Stats, WorkerStats } from '../control/api.ts'
import { type Interval, intervalBetween, quantileMs, type WorkerDelta } from '../observe/interval.ts'
import { duration } from './format.ts'
import { clip, formatCount, formatMs } from './top-format.ts'

/** Whether top has a master to show. */
export type Connection =
  | { readonly state: 'connected' }
  /** Before the first answer. `target` is where the master is (its control socket). */
  | { readonly state: 'connecting'; readonly target: string }
  /** The master stopped answering; top keeps trying. */
  | { readonly state: 'lost'; readonly target: string; readonly reason: string }

export interface TopUi {
  readonly connection: Connection
  /** The worker `k` would kill (highlighted), by id. */
  readonly selected: string | null
  /** The status line: an operation's progress or outcome, an error, a question. */
  readonly status: string
}

export interface TopFrame {
  /** The snapshot before `current`: rates are over the interval between them. */
  readonly previous: Stats | null
  readonly current: Stats | null
  readonly width: number
  readonly height: number
  readonly ui: TopUi
}

/** One line of the screen: its text, at most the screen's width, and how to paint it. */
export interface ScreenLine {
  readonly text: string
  readonly style: 'plain' | 'bold' | 'inverse'
}

export const KEYS_HELP = 'q quit  r reload  + add worker  - remove worker  ↑/↓ select  k kill selected'

const LAST_BOUND_MS = LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!
const ms = (value: number | null) => formatMs(value, LAST_BOUND_MS)

/** A column of the worker table: its heading, width and alignment, and the cell of a worker. */
interface Column {
  readonly heading: string
  readonly width: number
  readonly align: 'left' | 'right'
  readonly cell: (worker: WorkerStats, delta: WorkerDelta | undefined, interval: Interval | null) => string
}

const rate = (n: number, interval: Interval | null) => (interval ? formatCount(n / interval.seconds) : '-')

const where = (w: WorkerStats) =>
  w.placement === 'thread' ? `${w.pid ?? '-'} t${w.threadId ?? '-'}` : String(w.pid ?? '-')

/**
 * Memory: a process worker's RSS; a thread worker's V8 heap, since its RSS is the whole
 * process's.
 */
const memoryMb = (w: WorkerStats) => {
  if (!w.memory) return '-'
  const bytes = w.placement === 'process' ? w.memory.rss : w.memory.heapUsed
  return (bytes / 1_048_576).toFixed(0)
}

const columns: readonly Column[] = [
  { heading: 'ID', width: 5, align: 'left', cell: (w) => w.id },
  { heading: 'PID/THREAD', width: 12, align: 'left', cell: where },
  { heading: 'STATE', width: 10, align: 'left', cell: (w) => (w.draining ? 'draining' : w.state) },
  { heading: 'GEN', width: 4, align: 'right', cell: (w) => String(w.generation) },
  { heading: 'REQ/S', width: 8, align: 'right', cell: (_, d, i) => (d ? rate(d.requests, i) : '-') },
  { heading: 'INFLIGHT', width: 8, align: 'right', cell: (w) => String(w.inflight) },
  { heading: 'P50', width: 7, align: 'right', cell: (_, d) => (d ? ms(quantileMs(d.latency, 0.5)) : '-') },
  { heading: 'P99', width: 7, align: 'right', cell: (_, d) => (d ? ms(quantileMs(d.latency, 0.99)) : '-') },
  { heading: '4XX', width: 6, align: 'right', cell: (w) => String(w.status['4xx']) },
  { heading: '5XX', width: 6, align: 'right', cell: (w) => String(w.status['5xx']) },
  { heading: 'RESTARTS', width: 8, align: 'right', cell: (w) => String(w.restarts) },
  { heading: 'MEM MB', width: 7, align: 'right', cell: memoryMb },
  {
    heading: 'ELU%',
    width: 5,
    align: 'right',
    cell: (w) => (w.elu === null ? '-' : (w.elu * 100).toFixed(0)),
  },
]

const row = (cells: readonly string[]) =>
  cells
    .map((text, i) => {
      const { width, align } = columns[i]!
      const cut = clip(text, width)
      return align === 'left' ? cut.padEnd(width) : cut.padStart(width)
    })
    .join(' ')
    .trimEnd()

const title = (stats: Stats) => {
  const { instance } = stats
  const strategy = stats.listeners[0]?.strategy ?? stats.config.strategy
  return [
    `troupe${instance.name ? ` ${instance.name}` : ''}`,
    `pid ${instance.pid}`,
    `up ${duration(stats.at - instance.startedAt)}`,
    `generation ${instance.generation}`,
    strategy,
    `${stats.config.placement} × ${stats.config.kind}`,
    ...(stats.draining ? ['stopping (draining)'] : []),
  ].join('  ')
}

/** Under reuseport the kernel hands connections to the workers: the master counts no refusals. */
const listenerText = (l: Stats['listeners'][number]) =>
  `${l.address}  queue ${l.queued}${l.refused === null ? '' : `  refused ${l.refused}`}`

const listenersLine = (stats: Stats) =>
  stats.listeners.length === 0
    ? 'listening on nothing'
    : `listen  ${stats.listeners.map(listenerText).join('   ')}`

const totalsLine = (stats: Stats, interval: Interval | null) => {
  const { totals } = stats
  const ready = stats.workers.filter((w) => w.state === 'ready' && !w.draining).length
  const latency = interval?.total.latency
  return [
    `${rate(interval?.total.requests ?? 0, interval)} req/s`,
    `p50 ${latency ? ms(quantileMs(latency, 0.5)) : '-'}`,
    `p99 ${latency ? ms(quantileMs(latency, 0.99)) : '-'}`,
    `5xx ${rate(interval?.total.status5xx ?? 0, interval)}/s`,
    `shed ${totals.shed}`,
    `timeouts ${totals.timeouts}`,
    `workers ${ready}/${stats.workers.length} ready`,
    `restarts ${totals.restarts}`,
  ].join('  ')
}

/**
 * The rows the table has room for: all of them, or a window that keeps the selected worker in
 * view, its last line saying how many more there are.
 */
const visibleWorkers = (workers: readonly WorkerStats[], selected: string | null, room: number) => {
  if (workers.length <= room) return { shown: workers, more: 0 }
  const fits = Math.max(0, room - 1)
  const at = Math.max(
    0,
    workers.findIndex((w) => w.id === selected),
  )
  const start = Math.min(Math.max(0, at - fits + 1), workers.length - fits)
  return { shown: workers.slice(start, start + fits), more: workers.length - fits }
}

const connectionLines = (connection: Connection, last: Stats | null): string[] => {
  if (connection.state === 'connected') return []
  const lines =
    connection.state === 'connecting'
      ? [`troupe top: connecting to the master (${connection.target})…`]
      : [
          `troupe top: the master is gone (${connection.reason})`,
          `reconnecting to ${connection.target} every second…`,
        ]
  if (last) lines.push(`last seen: ${title(last)}`)
  return lines
}

/** The screen: exactly `height` lines, none wider than `width`; the keys on the last one. */
export const topScreen = (frame: TopFrame): ScreenLine[] => {
  const { previous, current, width, height, ui } = frame
  const lines: ScreenLine[] = []
  const add = (text: string, style: ScreenLine['style'] = 'plain') =>
    lines.push({ text: clip(text, width), style })
  const body = Math.max(0, height - 2)
  const offline = connectionLines(ui.connection, current)
  if (offline.length > 0) for (const line of offline) add(line, line === offline[0] ? 'bold' : 'plain')
  else if (current) {
    const interval = intervalBetween(previous, current)
    add(title(current), 'bold')
    add(listenersLine(current))
    add(totalsLine(current, interval))
    add('')
    add(row(columns.map((c) => c.heading)), 'inverse')
    const { shown, more } = visibleWorkers(current.workers, ui.selected, body - lines.length)
    for (const worker of shown)
      add(
        row(columns.map((c) => c.cell(worker, interval?.workers.get(worker.id), interval))),
        worker.id === ui.selected ? 'inverse' : 'plain',
      )
    if (more > 0) add(`… ${more} more (↑/↓ to scroll)`)
  }
  const screen = lines.slice(0, body)
  while (screen.length < body) screen.push({ text: '', style: 'plain' })
  if (height >= 2) screen.push({ text: clip(ui.status, width), style: 'bold' })
  if (height >= 1) screen.push({ text: clip(KEYS_HELP, width), style: 'inverse' })
  return screen
}
