import type { Clock } from '../../runtime/index.ts'

/** A clock the test moves by hand; records every delay a supervisor asked for. */
export class ManualClock implements Clock {
  #now = 0
  #timers = new Map<number, { at: number; fn: () => void }>()
  #next = 1
  readonly delays: number[] = []
  randomValue = 0.5 // the middle of the jitter band: no spread

  now = () => this.#now
  random = () => this.randomValue
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.#next++
    this.delays.push(ms)
    this.#timers.set(id, { at: this.#now + ms, fn })
    return id
  }
  clearTimeout = (handle: unknown) => {
    this.#timers.delete(handle as number)
  }

  /** Moves time forward, firing what falls due in order. */
  advance(ms: number): void {
    const until = this.#now + ms
    for (;;) {
      const due = [...this.#timers.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      this.#timers.delete(due[0])
      this.#now = due[1].at
      due[1].fn()
    }
    this.#now = until
  }
}

/** Lets queued microtasks and immediates run: local actors live on this loop. */
export const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Polls until `check` holds or `ms` passes; for waiting on real threads and processes. */
export const eventually = async <T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
  what = 'condition',
): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
