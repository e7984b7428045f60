/**
 * Overload shedding by queueing delay, CoDel's rule with the event-loop turn as the queue.
 *
 * A worker's queue is not in troupe: requests wait in the kernel's socket buffers while the
 * loop runs, and one poll phase then runs every ready request back to back. A request's wait
 * inside its turn (now − the turn's first request) is what troupe can see of it. The concurrency
 * limit (`connections`) cannot see this queue — a synchronous handler is never "in flight" for
 * long — so a CPU-bound app at 4× its capacity would only get slower, for everyone.
 *
 * The rule (Nichols and Jacobson's CoDel, adapted): a turn in which some request waited longer
 * than `target` shows a queue. A burst drains within a few turns and is served; once every turn
 * for `interval` has shown one, the queue is standing and the worker sheds: from then on, a
 * request that would begin more than `target` after its turn began is answered 503 at once
 * (cheap: no app code), which keeps each turn short and the served requests' latency bounded.
 * The first turn with no such wait (the excess gone) ends the shedding.
 */

/** How long the queue must stand before shedding begins, ms: a burst shorter than this is served. */
export const SHED_INTERVAL_MS = 100

export class QueueShedder {
  readonly #targetMs: number
  readonly #intervalMs: number
  /** performance.now() of the turn's first request; -1 between turns. */
  #turnStart = -1
  /** Some request this turn waited past the target (served or shed). */
  #queued = false
  /** Since when every turn has shown a queue; -1: the last one did not. */
  #queuedSince = -1
  #shedding = false
  readonly #endTurn = () => this.#turnEnded()

  constructor(targetMs: number, intervalMs = SHED_INTERVAL_MS) {
    this.#targetMs = targetMs
    this.#intervalMs = intervalMs
  }

  /** Whether the worker is shedding now (for its report). */
  get shedding(): boolean {
    return this.#shedding
  }

  /** A request begins at `now` (performance.now()): true to serve it, false to shed it. */
  admit(now: number): boolean {
    if (this.#turnStart < 0) {
      this.#turnStart = now
      // The check phase runs right after the poll phase that delivered this turn's requests.
      setImmediate(this.#endTurn)
      return true
    }
    if (now - this.#turnStart <= this.#targetMs) return true
    this.#queued = true
    return !this.#shedding
  }

  #turnEnded(): void {
    const now = performance.now()
    this.#turnStart = -1
    if (!this.#queued) {
      this.#queuedSince = -1
      this.#shedding = false
      return
    }
    this.#queued = false
    if (this.#queuedSince < 0) this.#queuedSince = now
    else if (now - this.#queuedSince >= this.#intervalMs) this.#shedding = true
  }
}
