/**
 * The parent's watch over a thread or process actor's heartbeats: a blocked event loop stops
 * beating, and after `timeout` ms of silence `onSilent` is told how long it has been.
 */
import type { Clock } from './clock.ts'

export class HeartbeatWatch {
  readonly #clock: Clock
  #last: number
  #timer: unknown

  constructor(clock: Clock, interval: number, timeout: number, onSilent: (silentMs: number) => void) {
    this.#clock = clock
    this.#last = clock.now()
    const check = () => {
      const silent = this.silentMs
      if (silent > timeout) {
        onSilent(Math.round(silent))
        return
      }
      this.#timer = clock.setTimeout(check, interval)
    }
    this.#timer = clock.setTimeout(check, interval)
  }

  beat(): void {
    this.#last = this.#clock.now()
  }

  get silentMs(): number {
    return this.#clock.now() - this.#last
  }

  stop(): void {
    this.#clock.clearTimeout(this.#timer)
  }
}
