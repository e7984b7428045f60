/**
 * The master's bookkeeping: the one subscriber to the lifecycle channels that the stats and the
 * metrics read. Per worker it keeps the latest report of the worker's current incarnation;
 * across incarnations it keeps totals that only grow. A worker reports totals since its own
 * start, so a restarted, recycled or reloaded worker starts again from zero: the book adds
 * each report's increase over the previous one of the same incarnation, and a worker's last
 * report before it exits stays counted.
 *
 * Several servers may run in one process (tests do), and every system is named `troupe`, so
 * paths alone do not say whose event it is. The book asks its own server: an event is ours
 * when our node at that path holds the very object the event carries (the report it just
 * stored, the exit reason it just recorded). Only observing; nothing here steers the master.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { WorkerInfo } from '../../../actors/http-worker/worker-protocol.ts'
import { channels, type ExitEvent, type ReportEvent, type RestartEvent } from '../../channels.ts'
import type { TreeNode } from '../../tree.ts'
import { emptyLatencyCounts } from './latency.ts'

/** What the book asks its server to tell its own events from another server's. */
export interface BookScope {
  /** The workers supervisor's path: a node under it is a worker. */
  readonly workersPath: string
  /** Our node at `path` now (a worker, an app actor, a supervisor), if we have one. */
  node(path: string): TreeNode | undefined
}

const find = (node: TreeNode, path: string): TreeNode | undefined => {
  if (node.path === path) return node
  if (!path.startsWith(`${node.path}/`)) return undefined
  for (const child of node.children ?? []) {
    const found = find(child, path)
    if (found) return found
  }
  return undefined
}

/** A server's scope: its workers through its pool (cheap, for every report), the rest through its tree. */
export const serverScope = (
  system: { tree(): TreeNode },
  pool: { readonly path: string; slot(path: string): { readonly cell: { tree(): TreeNode } } | undefined },
): BookScope => ({
  workersPath: pool.path,
  node: (path) =>
    path.startsWith(`${pool.path}/`) ? pool.slot(path)?.cell.tree() : find(system.tree(), path),
})

/** Counters that only grow, over every incarnation of every worker since the master started. */
export interface Totals {
  requests: number
  shed: number
  timeouts: number
  /** [1xx, 2xx, 3xx, 4xx, 5xx] */
  readonly status: number[]
  /** Per LATENCY_BUCKETS_MS bucket (not cumulative), the last past the last bound. */
  readonly latency: number[]
  latencySumMs: number
}

const increment = (counts: Map<string, number>, key: string): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1)
}

const isWorkerInfo = (info: unknown): info is WorkerInfo =>
  typeof (info as WorkerInfo | null)?.requests === 'number' &&
  Array.isArray((info as WorkerInfo).status) &&
  Array.isArray((info as WorkerInfo).latency?.counts)

/** A counter below its last value: a new incarnation whose exit we did not see. */
const startedOver = (before: WorkerInfo, now: WorkerInfo): boolean =>
  now.requests < before.requests ||
  now.latency.sumMs < before.latency.sumMs ||
  now.status.some((n, i) => n < (before.status[i] ?? 0))

export class Book {
  readonly totals: Totals = {
    requests: 0,
    shed: 0,
    timeouts: 0,
    status: [0, 0, 0, 0, 0],
    latency: emptyLatencyCounts(),
    latencySumMs: 0,
  }
  /** Worker exits by reason kind (`crash`, `killed`, `recycled`, `shutdown`, …). */
  readonly workerExits = new Map<string, number>()
  /** Worker restarts scheduled by the workers supervisor, by the reason kind of the exit. */
  readonly workerRestarts = new Map<string, number>()
  /** Exits of the app's actors by reason kind. */
  readonly actorExits = new Map<string, number>()
  readonly #scope: BookScope
  /** The latest report of each worker's current incarnation, by path; gone when it exits. */
  readonly #latest = new Map<string, WorkerInfo>()
  readonly #handlers: ReadonlyArray<readonly [string, (message: unknown) => void]>

  constructor(scope: BookScope) {
    this.#scope = scope
    this.#handlers = [
      [channels.report.name as string, (m) => this.#onReport(m as ReportEvent)],
      [channels.exit.name as string, (m) => this.#onExit(m as ExitEvent)],
      [channels.restart.name as string, (m) => this.#onRestart(m as RestartEvent)],
    ]
    for (const [name, handler] of this.#handlers) subscribe(name, handler)
  }

  /** The latest report of the worker at `path` (its current incarnation), if any since it started. */
  latest(path: string): WorkerInfo | undefined {
    return this.#latest.get(path)
  }

  /** Worker restarts of every reason. */
  get restarts(): number {
    let n = 0
    for (const count of this.workerRestarts.values()) n += count
    return n
  }

  /** Stops listening (the server stopped); what was counted stays readable. */
  close(): void {
    for (const [name, handler] of this.#handlers) unsubscribe(name, handler)
  }

  #isWorker(path: string): boolean {
    return path.startsWith(`${this.#scope.workersPath}/`)
  }

  #onReport({ path, info }: ReportEvent): void {
    if (!this.#isWorker(path) || !isWorkerInfo(info)) return
    if (this.#scope.node(path)?.info !== info) return
    const before = this.#latest.get(path)
    this.#add(info, before && !startedOver(before, info) ? before : undefined)
    this.#latest.set(path, info)
  }

  /** Adds what `now` counted since `before` (the previous report of the same incarnation). */
  #add(now: WorkerInfo, before: WorkerInfo | undefined): void {
    const t = this.totals
    t.requests += now.requests - (before?.requests ?? 0)
    t.shed += now.shed - (before?.shed ?? 0)
    t.timeouts += now.timeouts - (before?.timeouts ?? 0)
    for (let i = 0; i < t.status.length; i++) t.status[i]! += (now.status[i] ?? 0) - (before?.status[i] ?? 0)
    for (let i = 0; i < t.latency.length; i++)
      t.latency[i]! += (now.latency.counts[i] ?? 0) - (before?.latency.counts[i] ?? 0)
    t.latencySumMs += now.latency.sumMs - (before?.latency.sumMs ?? 0)
  }

  #onExit({ path, reason }: ExitEvent): void {
    const node = this.#scope.node(path)
    if (node?.lastExit !== reason || node.kind !== 'actor') return
    if (this.#isWorker(path)) {
      increment(this.workerExits, reason.kind)
      // Its next incarnation reports from zero.
      this.#latest.delete(path)
    } else increment(this.actorExits, reason.kind)
  }

  #onRestart({ path, supervisor, reason }: RestartEvent): void {
    if (supervisor !== this.#scope.workersPath || this.#scope.node(path)?.lastExit !== reason) return
    increment(this.workerRestarts, reason.kind)
  }
}
