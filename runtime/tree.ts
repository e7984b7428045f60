import type { Placement } from './actor.ts'
import type { ExitReason } from './exit.ts'

export type NodeState = 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped' | 'failed'

/** One node of `system.tree()`: plain JSON, what `troupe tree` prints. */
export interface TreeNode {
  readonly path: string
  readonly name: string
  readonly kind: 'supervisor' | 'actor'
  readonly state: NodeState
  /** Epoch ms of the current incarnation's start, null before the first. */
  readonly startedAt: number | null
  readonly restarts: number
  readonly lastExit: ExitReason | null
  // actors
  readonly placement?: Placement
  readonly pid?: number | null
  readonly threadId?: number | null
  /** Messages accepted but not yet handled (including those waiting for a restart). */
  readonly mailbox?: number
  readonly mailboxCapacity?: number
  /**
   * Tells accepted and never handled: sent to an incarnation that died without saying how far
   * it got (killed, out of memory, missed heartbeats), or waiting when the actor stopped for
   * good. (Asks in the same case are refused with a code, not lost.) On a supervisor: the
   * tells lost by children it no longer has (temporary children that exited, removed ones).
   */
  readonly lost?: number
  /** From the last heartbeat, bytes (thread: the whole process's RSS; heapUsed is the thread's own). */
  readonly memory?: { readonly rss: number; readonly heapUsed: number } | null
  /** The latest status the actor reported (`ctx.report`): a worker's requests, connections… */
  readonly info?: Readonly<Record<string, unknown>> | null
  // supervisors
  readonly strategy?: string
  readonly intensity?: number
  readonly periodMs?: number
  readonly children?: readonly TreeNode[]
}

/** What a supervisor needs of a child, be it an actor cell or another supervisor. */
export interface Child {
  readonly id: string
  readonly path: string
  readonly restart: RestartType
  readonly startedAtMono: number
  readonly state: NodeState
  /** Resolves once ready; rejects if the first incarnation fails to start (its exit is reported too). */
  start(): Promise<void>
  /** Graceful stop, forced after the child's shutdown timeout; resolves once it is gone. */
  stop(as?: ExitReason): Promise<void>
  /**
   * Like stop, but for a group restart: the child (a supervisor: its whole subtree) will be
   * started again, so the messages waiting for it are kept for the next incarnation.
   */
  stopForRestart(): Promise<void>
  /** Ends it now (terminate / SIGKILL), recording `reason`. */
  kill(reason: ExitReason): void
  /** Mark as waiting for a restart (visible in the tree). */
  markRestarting(): void
  /** Not restarted again: refuse what waits for it. */
  markStopped(): void
  restartCount: number
  tree(): TreeNode
}

export type RestartType = 'permanent' | 'transient' | 'temporary'

export type ExitListener = (child: Child, reason: ExitReason) => void
