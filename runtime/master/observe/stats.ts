/**
 * `Server.stats()` and `Server.info()`: the snapshot an operator reads (`troupe stats`, the
 * control socket, the metrics), built from the book and the parts' current state. Plain JSON.
 */
import type { Acceptor } from '../../../actors/acceptor.ts'
import type { WorkerInfo } from '../../../actors/http-worker/worker-protocol.ts'
import type { ActorSystem } from '../../system.ts'
import type { TreeNode } from '../../tree.ts'
import type { ResolvedConfig } from '../config.ts'
import {
  CONTROL_PROTOCOL,
  type InstanceInfo,
  type ListenerStats,
  type Stats,
  type WorkerStats,
} from '../control/api.ts'
import { optionTable } from '../options.ts'
import type { PoolSlot, WorkerPool } from '../pool.ts'
import { troupeVersion } from '../version.ts'
import type { Book } from './book.ts'
import { emptyLatencyCounts, latencySummary, statusCounts } from './latency.ts'

/** What the snapshot is read from. */
export interface Observed {
  readonly book: Book
  readonly pool: WorkerPool
  readonly acceptor: Acceptor | undefined
  readonly system: ActorSystem
  /** Listening addresses as bound (under reuseport: the workers' binds). */
  readonly addresses: readonly string[]
  /** Epoch ms. */
  readonly startedAt: number
  readonly controlPath: string | null
  readonly adminAddress: string | null
  /** A graceful stop began: the probes say not ready. */
  readonly draining: boolean
}

/** Ready to take traffic, as `/readyz` says: not stopping, and a worker of the serving generation ready. */
export const isReady = (o: Pick<Observed, 'pool' | 'draining'>): boolean =>
  !o.draining && o.pool.live.some((slot) => slot.ready)

export const instanceInfo = (o: Observed): InstanceInfo => ({
  protocol: CONTROL_PROTOCOL,
  version: troupeVersion(),
  name: o.pool.config.name,
  pid: process.pid,
  control: o.controlPath,
  binds: o.addresses,
  workers: o.pool.live.length,
  startedAt: o.startedAt,
  generation: o.pool.generation,
  admin: o.adminAddress,
})

const SECRET_SHOWN_AS = '(set, not shown)'

/** The config with its credentials (`adminToken`) masked: stats are printed and logged. */
export const shownConfig = (config: ResolvedConfig): ResolvedConfig => {
  const shown: Record<string, unknown> = { ...config }
  for (const [key, spec] of Object.entries(optionTable))
    if ('secret' in spec && shown[key] !== null && shown[key] !== undefined) shown[key] = SECRET_SHOWN_AS
  return shown as ResolvedConfig
}

const idle: WorkerInfo = {
  refused: 0,
  generation: 0,
  requests: 0,
  inflight: 0,
  connections: 0,
  closed: 0,
  shed: 0,
  timeouts: 0,
  draining: false,
  status: [0, 0, 0, 0, 0],
  latency: { counts: emptyLatencyCounts(), sumMs: 0 },
  elu: 0,
  upgraded: 0,
  upgrades: 0,
}

const workerStats = (slot: PoolSlot, info: WorkerInfo | undefined, now: number): WorkerStats => {
  const node = slot.cell.tree()
  const report = info ?? idle
  return {
    id: slot.id,
    path: slot.path,
    generation: slot.generation,
    placement: slot.placement,
    kind: slot.kind,
    pid: node.pid ?? null,
    threadId: node.threadId ?? null,
    state: node.state,
    startedAt: node.startedAt,
    uptimeMs: node.startedAt === null || node.state !== 'ready' ? null : now - node.startedAt,
    restarts: node.restarts,
    lastExit: node.lastExit,
    draining: slot.retiring || report.draining,
    requests: report.requests,
    inflight: report.inflight,
    connections: report.connections,
    upgraded: report.upgraded ?? 0,
    shed: report.shed,
    refusedConnections: report.refused ?? 0,
    timeouts: report.timeouts,
    status: statusCounts(report.status),
    latency: latencySummary(report.latency.counts, report.latency.sumMs),
    memory: node.memory ?? null,
    elu: info ? info.elu : null,
  }
}

const listenerStats = (o: Observed): ListenerStats[] => {
  const { config } = o.pool
  if (!o.acceptor)
    return o.addresses.map((address) => ({
      address,
      protocol: 'http',
      strategy: 'reuseport',
      backlog: config.backlog,
      queued: 0,
      accepted: null,
      refused: null,
    }))
  const queued = o.acceptor.queued
  return o.acceptor.listenerCounts().map((l, i) => ({
    address: l.address,
    protocol: l.address.startsWith('uwsgi:') ? 'uwsgi' : 'http',
    strategy: 'handoff',
    backlog: l.backlog,
    // One queue for every address: shown once, on the first.
    queued: i === 0 ? queued : 0,
    accepted: l.accepted,
    refused: l.refused,
  }))
}

const byKind = (counts: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)))

const sum = (...maps: ReadonlyMap<string, number>[]): Map<string, number> => {
  const all = new Map<string, number>()
  for (const map of maps) for (const [key, n] of map) all.set(key, (all.get(key) ?? 0) + n)
  return all
}

/** The app's actors: the tree nodes under /NAME/actors. */
export const appActors = (system: Pick<ActorSystem, 'name' | 'tree'>): readonly TreeNode[] =>
  system.tree().children?.find((node) => node.path === `/${system.name}/actors`)?.children ?? []

export const stats = (o: Observed): Stats => {
  const now = Date.now()
  const workers = o.pool.slots.map((slot) => workerStats(slot, o.book.latest(slot.path), now))
  const { totals } = o.book
  return {
    instance: instanceInfo(o),
    at: now,
    ready: isReady(o),
    draining: o.draining,
    listeners: listenerStats(o),
    workers,
    actors: appActors(o.system),
    totals: {
      requests: totals.requests,
      inflight: workers.reduce((n, w) => n + w.inflight, 0),
      connections: workers.reduce((n, w) => n + w.connections, 0),
      upgraded: workers.reduce((n, w) => n + w.upgraded, 0),
      shed: totals.shed,
      refusedConnections: workers.reduce((n, w) => n + w.refusedConnections, 0),
      timeouts: totals.timeouts,
      status: statusCounts(totals.status),
      latency: latencySummary(totals.latency, totals.latencySumMs),
      restarts: o.book.restarts,
    },
    exitsByReason: byKind(sum(o.book.workerExits, o.book.actorExits)),
    workerExitsByReason: byKind(o.book.workerExits),
    restartsByReason: byKind(o.book.workerRestarts),
    config: shownConfig(o.pool.config),
  }
}
