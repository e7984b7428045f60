import type { SerializedError } from './errors.ts'

/**
 * Why an actor or supervisor stopped, as data. `tree()` shows the last one per node and
 * the `troupe:actor:exit` channel publishes each one.
 */
export type ExitReason =
  /** The actor stopped itself (`ctx.stop()`), or a transient child finished its work. */
  | { readonly kind: 'normal' }
  /**
   * Its supervisor stopped it; `forced` when it did not finish within its shutdown timeout.
   * A supervisor that gave up (more restarts than its intensity allows) stops its children
   * and itself with this reason too, as OTP's does, and says so in `escalated`
   * (TROUPE_E_ESCALATED): a permanent parent restarts it, a transient one does not.
   */
  | { readonly kind: 'shutdown'; readonly forced: boolean; readonly escalated?: SerializedError }
  /** A handler or init threw, the thread/process died with an uncaught error or a non-zero exit code. */
  | { readonly kind: 'crash'; readonly error: SerializedError; readonly exitCode?: number }
  /** The process was killed by a signal nobody in troupe sent (SIGKILL from the OOM killer, an operator). */
  | { readonly kind: 'killed'; readonly signal: string }
  /** Missed heartbeats: its event loop stopped answering and troupe terminated it. */
  | { readonly kind: 'timeout'; readonly silentMs: number }
  /** It ran past its memory limit (thread `resourceLimits`, process RSS). */
  | { readonly kind: 'memory'; readonly detail: string }
  /** Replaced on purpose (max requests, the soft memory limit). */
  | { readonly kind: 'recycled'; readonly why: string }

export type ExitKind = ExitReason['kind']

/** OTP's notion of an exit that a `transient` child is not restarted after. */
export const isNormalExit = (reason: ExitReason): boolean =>
  reason.kind === 'normal' || reason.kind === 'shutdown' || reason.kind === 'recycled'

/** An exit reason in a few words, for error messages. */
export const describeExit = (reason: ExitReason): string => {
  switch (reason.kind) {
    case 'crash':
      return `crash: ${reason.error.message}`
    case 'killed':
      return `killed by ${reason.signal}`
    case 'timeout':
      return `no heartbeat for ${reason.silentMs} ms`
    case 'memory':
      return `memory: ${reason.detail}`
    case 'recycled':
      return `recycled: ${reason.why}`
    case 'shutdown':
      if (reason.escalated) return `shutdown: ${reason.escalated.message}`
      return reason.forced ? 'shutdown (forced)' : 'shutdown'
    case 'normal':
      return 'normal'
  }
}

/** Why a root supervisor gave up, in the words of its last exit: the error, the escalation, or the kind. */
export const givenUpBecause = (reason: ExitReason): string =>
  reason.kind === 'crash'
    ? reason.error.message
    : reason.kind === 'shutdown' && reason.escalated
      ? reason.escalated.message
      : reason.kind
