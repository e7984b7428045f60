/**
 * The parent's watch over a thread or process actor's heartbeats: a blocked event loop stops
 * beating, and after `timeout` ms of silence `onSilent` is told how long it has been.
 *
 * Until the first beat the child is still booting (a new Node thread or process loading its
 * modules), which says nothing about its event loop; on a loaded machine that alone can take
 * seconds. So the first beat gets at least `bootTimeout` ms, however short `timeout` is.
 */
import type { Clock } from './clock.ts'

/** The least time a thread or process gets to boot and send its first heartbeat. */
export const bootTimeout = 10_000

export class HeartbeatWatch {
  readonly #clock: Clock
  #last: number
  #beaten = false
  #timer: unknown

  constructor(clock: Clock, interval: number, timeout: number, onSilent: (silentMs: number) => void) {
    this.#clock = clock
    this.#last = clock.now()
    const check = () => {
      const silent = this.silentMs
      if (silent > (this.#beaten ? timeout : Math.max(timeout, bootTimeout))) {
        onSilent(Math.round(silent))
        return
      }
      this.#timer = clock.setTimeout(check, interval)
    }
    this.#timer = clock.setTimeout(check, interval)
  }

  beat(): void {
    this.#beaten = true
    this.#last = this.#clock.now()
  }

  get silentMs(): number {
    return this.#clock.now() - this.#last
  }

  stop(): void {
    this.#clock.clearTimeout(this.#timer)
  }
}
