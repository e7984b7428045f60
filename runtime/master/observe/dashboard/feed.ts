/**
 * The dashboard's live feed: once a second the master's stats are sampled into a bounded
 * history (so a page opened now shows the last minutes at once), the lifecycle events are kept
 * in a bounded log, and every open page (a Server-Sent Events response) gets one frame. A page
 * that is slower than the feed is dropped, not buffered for: its EventSource reconnects and
 * starts again from a fresh `hello`.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ServerResponse } from 'node:http'
import { channels, type ExitEvent, type ReadyEvent, type RestartEvent } from '../../../channels.ts'
import { describeExit } from '../../../exit.ts'
import type { TreeNode } from '../../../tree.ts'
import type { Stats } from '../../control/api.ts'
import { subscribeLifecycleLog } from '../../lifecycle-log.ts'
import type { LogEntry } from '../../log.ts'
import { intervalBetween } from '../interval.ts'
import {
  type AcceptorSample,
  type DashEvent,
  EVENT_LOG_SIZE,
  FRAME_INTERVAL_MS,
  type Frame,
  type Hello,
  HISTORY_SECONDS,
  type Sample,
  type Snapshot,
} from './feed-types.ts'
import { Ring } from './ring.ts'
import { acceptorSampleOf, samplesOf } from './samples.ts'

export interface FeedSource {
  /** Throws while the server is still starting. */
  stats(): Stats
  tree(): TreeNode
  /** The server's id on the lifecycle channels (several servers may share a process). */
  readonly server: number
  /** Whether an app actor's event at `path` is this server's. */
  owns(path: string): boolean
  /** Whether a token guards the admin listener: the actions are offered only then. */
  readonly guarded: boolean
}

export const ACTIONS_OFF = 'actions need a token: start troupe with --admin-token (or TROUPE_ADMIN_TOKEN)'

/** Past this much unsent data a page is too slow to follow: it is dropped and reconnects. */
const MAX_BUFFERED_BYTES = 1 << 20

const HISTORY_SIZE = Math.round((HISTORY_SECONDS * 1_000) / FRAME_INTERVAL_MS)

interface Client {
  readonly res: ServerResponse
  /** The last event it was sent: a frame sends only what is newer. */
  lastEvent: number
}

const snapshotOf = (stats: Stats, tree: TreeNode): Snapshot => ({
  at: stats.at,
  instance: stats.instance,
  ready: stats.ready,
  draining: stats.draining,
  tree,
  workers: stats.workers,
  listeners: stats.listeners,
  totals: {
    requests: stats.totals.requests,
    restarts: stats.totals.restarts,
    status: stats.totals.status,
  },
})

/** The stats of a master that has just started: no workers, nothing counted. */
const baseline = (current: Stats): Stats => {
  const none = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }
  return {
    ...current,
    at: current.instance.startedAt,
    workers: [],
    listeners: current.listeners.map((l) => ({ ...l, refused: 0, accepted: 0 })),
    totals: {
      ...current.totals,
      requests: 0,
      status: none,
      latency: { ...current.totals.latency, counts: current.totals.latency.counts.map(() => 0) },
    },
  }
}

const message = (event: 'hello' | 'frame', data: Hello | Frame): string =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

export class Feed {
  readonly #source: FeedSource
  readonly #clients = new Set<Client>()
  readonly #total = new Ring<Sample>(HISTORY_SIZE)
  readonly #workers = new Map<string, Ring<Sample>>()
  readonly #acceptor = new Ring<AcceptorSample>(HISTORY_SIZE)
  readonly #events = new Ring<DashEvent>(EVENT_LOG_SIZE)
  #nextEvent = 1
  #previous: Stats | null = null
  readonly #timer: NodeJS.Timeout
  readonly #unsubscribe: () => void

  constructor(source: FeedSource) {
    this.#source = source
    this.#unsubscribe = this.#subscribe()
    this.#timer = setInterval(() => this.#tick(), FRAME_INTERVAL_MS)
    // The feed samples for whoever opens the page later; it never holds the master's exit.
    this.#timer.unref()
  }

  /** Opens an event stream on `res`: `hello` now, a frame each second after. */
  attach(res: ServerResponse): void {
    const stats = this.#source.stats()
    const hello: Hello = {
      snapshot: snapshotOf(stats, this.#source.tree()),
      history: {
        total: this.#total.toArray(),
        workers: Object.fromEntries([...this.#workers].map(([id, ring]) => [id, ring.toArray()])),
        acceptor: this.#acceptor.toArray(),
      },
      events: this.#events.toArray(),
      actions: this.#source.guarded ? { enabled: true } : { enabled: false, why: ACTIONS_OFF },
      intervalMs: FRAME_INTERVAL_MS,
      historySize: HISTORY_SIZE,
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A proxy in front (nginx) must pass each frame on as it comes.
      'x-accel-buffering': 'no',
    })
    res.socket?.setNoDelay(true)
    const client: Client = { res, lastEvent: this.#nextEvent - 1 }
    this.#clients.add(client)
    res.on('close', () => this.#clients.delete(client))
    // Reconnect after a second when the stream drops (a master restarting, a network blip).
    res.write(`retry: 1000\n\n${message('hello', hello)}`)
  }

  get clients(): number {
    return this.#clients.size
  }

  close(): void {
    clearInterval(this.#timer)
    this.#unsubscribe()
    for (const { res } of this.#clients) res.end()
    this.#clients.clear()
  }

  #tick(): void {
    let current: Stats
    try {
      current = this.#source.stats()
    } catch {
      return // still starting
    }
    // The first sample counts from the master's start: nothing is lost before the feed began.
    const previous = this.#previous ?? baseline(current)
    this.#previous = current
    const interval = intervalBetween(previous, current)
    if (!interval) return
    const { total, workers } = samplesOf(previous, current, interval)
    const acceptor = acceptorSampleOf(previous, current)
    this.#total.push(total)
    this.#acceptor.push(acceptor)
    for (const [id, sample] of Object.entries(workers)) {
      const ring = this.#workers.get(id) ?? new Ring<Sample>(HISTORY_SIZE)
      this.#workers.set(id, ring)
      ring.push(sample)
    }
    // A worker scaled away leaves its history until it has aged out of the window.
    for (const [id, ring] of this.#workers)
      if ((ring.last?.at ?? 0) < current.at - HISTORY_SECONDS * 1_000) this.#workers.delete(id)
    if (this.#clients.size === 0) return
    const snapshot = snapshotOf(current, this.#source.tree())
    const events = this.#events.toArray()
    for (const client of this.#clients) {
      if (client.res.writableLength > MAX_BUFFERED_BYTES) {
        client.res.destroy()
        continue
      }
      const fresh = events.filter((e) => e.id > client.lastEvent)
      client.lastEvent = this.#nextEvent - 1
      client.res.write(message('frame', { snapshot, total, workers, acceptor, events: fresh }))
    }
  }

  #note(entry: Pick<LogEntry, 'level' | 'event' | 'msg'>, subject?: string): void {
    this.#events.push({
      id: this.#nextEvent++,
      at: Date.now(),
      level: entry.level,
      event: entry.event,
      msg: entry.msg,
      ...(subject === undefined ? {} : { subject }),
    })
  }

  /** The master log's lifecycle events, and the app actors' own (the log says nothing of those). */
  #subscribe(): () => void {
    const source = this.#source
    const stopLog = subscribeLifecycleLog(source.server, (entry) => this.#note(entry, entry.worker))
    const actorEvents: [string, (message: unknown) => void][] = [
      [
        channels.ready.name as string,
        (m) => {
          const e = m as ReadyEvent
          if (source.owns(e.path))
            this.#note(
              {
                level: 'info',
                event: 'actor.ready',
                msg: `actor ${e.path} ready (pid ${e.pid}${e.threadId === null ? '' : `, thread ${e.threadId}`})`,
              },
              e.path,
            )
        },
      ],
      [
        channels.exit.name as string,
        (m) => {
          const e = m as ExitEvent
          if (source.owns(e.path))
            this.#note(
              {
                level: e.reason.kind === 'crash' || e.reason.kind === 'killed' ? 'warn' : 'info',
                event: 'actor.exit',
                msg: `actor ${e.path} exited (${describeExit(e.reason)})`,
              },
              e.path,
            )
        },
      ],
      [
        channels.restart.name as string,
        (m) => {
          const e = m as RestartEvent
          // Attempt 0 is an operator's restart: the lifecycle log says it already (actor.restart).
          if (e.attempt > 0 && source.owns(e.path))
            this.#note(
              {
                level: 'warn',
                event: 'actor.restart',
                msg: `actor ${e.path}: restart ${e.attempt} in ${e.delayMs} ms (${describeExit(e.reason)})`,
              },
              e.path,
            )
        },
      ],
    ]
    for (const [name, fn] of actorEvents) subscribe(name, fn)
    return () => {
      stopLog()
      for (const [name, fn] of actorEvents) unsubscribe(name, fn)
    }
  }
}
