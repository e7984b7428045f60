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
 * Turns that show no queue for a whole interval (the excess gone) end the shedding.
 */

/** How long the queue must stand before shedding begins, ms: a burst shorter than this is served. */
export const SHED_INTERVAL_MS = 50

export class QueueShedder {
  readonly #targetMs: number
  readonly #intervalMs = SHED_INTERVAL_MS
  /** performance.now() of the turn's first request; -1 between turns. */
  #turnStart = -1
  /** performance.now() when the last turn ended. */
  #lastTurnEnd = Number.NEGATIVE_INFINITY
  /** Some request this turn waited past the target (served or shed). */
  #queued = false
  /** Since when every turn has shown a queue (the start of the first); -1: the last one did not. */
  #queuedSince = -1
  /** While shedding: since when no turn has shown a queue; -1: the last one did. */
  #clearSince = -1
  #shedding = false
  readonly #endTurn = () => this.#turnEnded()

  constructor(targetMs: number) {
    this.#targetMs = targetMs
  }

  /** A request begins at `now` (performance.now()): true to serve it, false to shed it. */
  admit(now: number): boolean {
    if (this.#turnStart < 0) {
      // A loop that sat idle had no queue then: one idle for a target's time ends the queue
      // being watched, one idle for an interval ends whatever was shed before.
      const idle = now - this.#lastTurnEnd
      if (idle >= this.#intervalMs) this.#reset()
      else if (idle >= this.#targetMs) this.#queuedSince = -1
      this.#turnStart = now
      // The check phase runs right after the poll phase that delivered this turn's requests.
      setImmediate(this.#endTurn)
      return true
    }
    if (now - this.#turnStart <= this.#targetMs) return true
    this.#queued = true
    // The queue is counted from the start of the turn that first showed it: one long turn (a
    // flood arriving at once) starts the shedding within the interval, not after it.
    if (this.#queuedSince < 0) this.#queuedSince = this.#turnStart
    if (now - this.#queuedSince >= this.#intervalMs) this.#shedding = true
    return !this.#shedding
  }

  #reset(): void {
    this.#queuedSince = -1
    this.#clearSince = -1
    this.#shedding = false
  }

  #turnEnded(): void {
    const now = performance.now()
    this.#turnStart = -1
    this.#lastTurnEnd = now
    if (this.#queued) {
      this.#queued = false
      this.#clearSince = -1
      if (now - this.#queuedSince >= this.#intervalMs) this.#shedding = true
      return
    }
    this.#queuedSince = -1
    if (!this.#shedding) return
    // Shedding keeps each turn short, so one turn that fits within the target says little;
    // the excess is gone once turns have fitted for a whole interval. Until then shedding costs
    // nothing: a turn that fits sheds nobody.
    if (this.#clearSince < 0) this.#clearSince = now
    else if (now - this.#clearSince >= this.#intervalMs) this.#reset()
  }
}
