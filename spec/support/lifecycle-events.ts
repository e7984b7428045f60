/** What the actor lifecycle channels publish while a test runs, in order, with when. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { onTestFinished } from 'vitest'
import type { ExitEvent, ReadyEvent } from '../../runtime/channels.ts'
import type { ExitReason } from '../../runtime/exit.ts'

export type LifecycleEvent =
  | { readonly what: 'ready'; readonly path: string; readonly at: number }
  | { readonly what: 'exit'; readonly path: string; readonly at: number; readonly reason: ExitReason }

/** Subscribes to `troupe:actor:ready` and `troupe:actor:exit` until the test ends. */
export const recordLifecycle = (): LifecycleEvent[] => {
  const events: LifecycleEvent[] = []
  const onReady = (event: unknown) =>
    events.push({ what: 'ready', path: (event as ReadyEvent).path, at: Date.now() })
  const onExit = (event: unknown) => {
    const { path, reason } = event as ExitEvent
    events.push({ what: 'exit', path, at: Date.now(), reason })
  }
  subscribe('troupe:actor:ready', onReady)
  subscribe('troupe:actor:exit', onExit)
  onTestFinished(() => {
    unsubscribe('troupe:actor:ready', onReady)
    unsubscribe('troupe:actor:exit', onExit)
  })
  return events
}

/** The exit of the actor at `path`, if it happened. */
export const exitOf = (events: readonly LifecycleEvent[], path: string) =>
  events.find((e): e is Extract<LifecycleEvent, { what: 'exit' }> => e.what === 'exit' && e.path === path)
