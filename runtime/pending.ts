/**
 * Asks waiting for their replies, by id: the timeout, the AbortSignal and the settling,
 * written once for every side that asks (a cell, an actor asking another, a pool thread).
 */
import { AskAbortedError, AskTimeoutError, deserializeError, type SerializedError } from './errors.ts'

/** The ask timeout wherever none is given: refs, actors asking actors, pool threads (ms). */
export const defaultAskTimeout = 5_000 // 5 s

interface Waiting {
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
  readonly cleanup: () => void
}

export interface AskLimits {
  readonly timeout: number
  readonly signal?: AbortSignal | undefined
}

export class PendingAsks {
  readonly #waiting = new Map<number, Waiting>()
  #next = 1

  /**
   * Opens an ask and calls `send(id)`; the promise settles with the reply, or rejects on
   * timeout (TROUPE_E_ASK_TIMEOUT), abort (TROUPE_E_ASK_ABORTED) or a throwing `send`.
   */
  open(what: string, limits: AskLimits, send: (id: number) => void): Promise<unknown> {
    const { signal, timeout } = limits
    if (signal?.aborted)
      return Promise.reject(new AskAbortedError(`${what} was aborted`, { cause: signal.reason }))
    const id = this.#next++
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.#waiting.delete(id)
        cleanup()
        reject(error)
      }
      const timer = setTimeout(
        () => fail(new AskTimeoutError(`no reply to ${what} within ${timeout} ms`)),
        timeout,
      )
      const onAbort = () => fail(new AskAbortedError(`${what} was aborted`, { cause: signal?.reason }))
      const cleanup = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.set(id, { resolve, reject, cleanup })
      try {
        send(id)
      } catch (error) {
        fail(error as Error)
      }
    })
  }

  /** Settles ask `id` with a reply that crossed a boundary; unknown ids (timed out) are ignored. */
  settle(id: number, ok: boolean, value?: unknown, error?: SerializedError): void {
    const waiting = this.#waiting.get(id)
    if (!waiting) return
    this.#waiting.delete(id)
    waiting.cleanup()
    if (ok) waiting.resolve(value)
    else waiting.reject(deserializeError(error!))
  }

  /** Rejects ask `id` locally. */
  reject(id: number, error: Error): void {
    const waiting = this.#waiting.get(id)
    if (!waiting) return
    this.#waiting.delete(id)
    waiting.cleanup()
    waiting.reject(error)
  }

  /** Rejects every ask except those `keep` names. */
  rejectAll(error: () => Error, keep: ReadonlySet<number> = new Set()): void {
    for (const id of [...this.#waiting.keys()]) if (!keep.has(id)) this.reject(id, error())
  }
}
