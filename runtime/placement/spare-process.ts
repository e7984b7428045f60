/**
 * A booted, idle child process kept ready per fork shape (Node flags and environment), so that
 * a process actor that died is replaced without waiting for Node to start. Of a process
 * worker's spawn-to-ready here (~150 ms quiet, ~250 ms with wrk on both cores), fork, Node's
 * bootstrap and the actor-child entry are ~100 ms; a spare has done them already and only
 * loads the actor and the app.
 *
 * The next start of the same shape takes the spare; another is forked SPARE_DELAY_MS later,
 * after the start-up (or restart) rush has passed. A spare is unreferenced (it keeps no master
 * alive), titled `troupe: spare`, and goes with its parent like any actor child (its IPC
 * channel closing ends it).
 */
import { type ChildProcess, fork } from 'node:child_process'

/** How long after a start the next spare is forked, ms. */
const SPARE_DELAY_MS = 1_000

export interface ForkShape {
  readonly entry: string
  readonly execArgv: readonly string[]
  readonly env: Readonly<Record<string, string | undefined>> | undefined
}

const spares = new Map<string, ChildProcess>()
const timers = new Map<string, NodeJS.Timeout>()

const keyOf = (shape: ForkShape): string => JSON.stringify([shape.entry, shape.execArgv, shape.env ?? null])

const forkNow = (shape: ForkShape, spare: boolean): ChildProcess =>
  fork(shape.entry, spare ? ['--spare'] : [], {
    serialization: 'advanced',
    execArgv: [...shape.execArgv],
    env: { ...process.env, ...shape.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })

/** The spare of this shape if one is up and connected (then it is no longer a spare). */
const take = (key: string): ChildProcess | undefined => {
  const child = spares.get(key)
  spares.delete(key)
  if (!child) return undefined
  child.removeAllListeners('exit')
  if (!child.connected || child.exitCode !== null || child.signalCode !== null) {
    child.kill('SIGKILL')
    return undefined
  }
  child.ref()
  child.channel?.ref?.()
  return child
}

const schedule = (key: string, shape: ForkShape): void => {
  if (spares.has(key) || timers.has(key)) return
  const timer = setTimeout(() => {
    timers.delete(key)
    if (spares.has(key)) return
    const child = forkNow(shape, true)
    child.unref()
    child.channel?.unref?.()
    // A spare that dies unused (killed by hand) is simply not there for the next start.
    child.channel?.on?.('error', () => {})
    child.on('exit', () => {
      if (spares.get(key) === child) spares.delete(key)
    })
    spares.set(key, child)
  }, SPARE_DELAY_MS)
  timer.unref()
  timers.set(key, timer)
}

/**
 * A child process for an actor: with `spare`, the waiting spare of the same shape if there is
 * one, and another is prepared for next time; without, a fresh fork.
 */
export const forkActorChild = (shape: ForkShape, spare: boolean): ChildProcess => {
  if (!spare) return forkNow(shape, false)
  const key = keyOf(shape)
  const child = take(key) ?? forkNow(shape, false)
  schedule(key, shape)
  return child
}

/** Ends every spare and every spare yet to come (a system stopping). */
export const retireSpares = (): void => {
  for (const timer of timers.values()) clearTimeout(timer)
  timers.clear()
  for (const child of spares.values()) {
    child.removeAllListeners('exit')
    child.kill('SIGKILL')
  }
  spares.clear()
}
