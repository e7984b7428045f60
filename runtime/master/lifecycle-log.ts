/**
 * The master's lifecycle lines, made in one place from the lifecycle channels: a worker
 * ready, restarted, exited, stopped or recycled, a reload done or failed, a scale, an app
 * actor restarted on request, a listener opened or closed, a supervisor that gave up. The
 * pool and the master publish and never log these themselves: what is logged is what
 * observers (metrics, `troupe top`, tests) see, one bookkeeping path.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { channels, type EscalateEvent } from '../channels.ts'
import { describeExit } from '../exit.ts'
import {
  type ActorRestartEvent,
  type ListenerEvent,
  type ReloadDoneEvent,
  type ReloadFailedEvent,
  type ReloadStartEvent,
  type ScaleEvent,
  type ServerEvent,
  serverChannels,
  type WorkerExitEvent,
  type WorkerReadyEvent,
  type WorkerRecycleEvent,
} from './channels.ts'
import { describeError, entry, type LogEntry } from './log.ts'

/** The line for each server event; `undefined`: nothing to say. */
const lines = {
  workerReady: (e: WorkerReadyEvent) => {
    const what = `generation ${e.generation}, ${e.placement}, ${e.kind}`
    return e.restart > 0
      ? entry('info', 'worker.restart', `worker ${e.worker} restarted (${what}, restart ${e.restart})`, {
          worker: e.worker,
        })
      : entry('info', 'worker.ready', `worker ${e.worker} ready (${what})`, { worker: e.worker })
  },
  workerExit: (e: WorkerExitEvent) =>
    e.restarting
      ? entry(
          'warn',
          'worker.exit',
          `worker ${e.worker} exited (${describeExit(e.reason)}); its supervisor restarts it`,
          { worker: e.worker, reason: e.reason.kind },
        )
      : entry('info', 'worker.stop', `worker ${e.worker} stopped (${describeExit(e.reason)})`, {
          worker: e.worker,
          reason: e.reason.kind,
        }),
  workerRecycle: (e: WorkerRecycleEvent) =>
    e.error
      ? entry('warn', 'worker.recycle.failed', `recycling worker ${e.worker} failed: ${e.error.message}`, {
          worker: e.worker,
        })
      : entry('info', 'worker.recycle', `worker ${e.worker} recycled (${e.why})`, { worker: e.worker }),
  reloadStart: (e: ReloadStartEvent) =>
    entry('debug', 'reload.start', `reload: starting generation ${e.generation}`),
  reloadDone: (e: ReloadDoneEvent) =>
    entry('info', 'reload.done', `reloaded: generation ${e.generation}, ${e.workers} workers`, {
      durationMs: e.durationMs,
    }),
  reloadFailed: (e: ReloadFailedEvent) =>
    entry('error', 'reload.failed', `reload failed, the old workers keep serving: ${describeError(e.error)}`),
  scale: (e: ScaleEvent) =>
    e.ignored !== undefined
      ? entry('warn', 'scale.ignored', `scale ignored: ${e.ignored}`)
      : entry('info', 'scale', `scaled to ${e.to} workers`, { from: e.from }),
  actorRestart: (e: ActorRestartEvent) =>
    entry('info', 'actor.restart', `actor ${e.actor} restarted on request (restart ${e.restart})`, {
      actor: e.actor,
    }),
  listen: (e: ListenerEvent) => entry('debug', 'listen', `listening on ${e.address}`),
  unlisten: (e: ListenerEvent) => entry('debug', 'unlisten', `stopped listening on ${e.address}`),
} satisfies { [K in keyof typeof serverChannels]: (event: never) => LogEntry | undefined }

/**
 * Subscribes `note` to the lifecycle channels, for the events of server `server` (and the
 * supervisors that give up); returns the unsubscribe.
 */
export const subscribeLifecycleLog = (server: number, note: (entry: LogEntry) => void): (() => void) => {
  const subscriptions: [string, (message: unknown) => void][] = []
  for (const [key, make] of Object.entries(lines)) {
    const channel = serverChannels[key as keyof typeof lines]
    subscriptions.push([
      channel.name as string,
      (message) => {
        if ((message as ServerEvent).server !== server) return
        const said = (make as (event: unknown) => LogEntry | undefined)(message)
        if (said) note(said)
      },
    ])
  }
  subscriptions.push([
    channels.escalate.name as string,
    (message) => {
      const e = message as EscalateEvent
      note(
        entry(
          'error',
          'supervisor.escalate',
          `supervisor ${e.path} gave up: ${e.restarts} restarts within ${e.periodMs} ms`,
        ),
      )
    },
  ])
  for (const [name, fn] of subscriptions) subscribe(name, fn)
  return () => {
    for (const [name, fn] of subscriptions) unsubscribe(name, fn)
  }
}
