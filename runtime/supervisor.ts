/**
 * OTP supervision: one_for_one, one_for_all, rest_for_one, and a pool of identical
 * children. Restarts are delayed by exponential backoff with jitter; more than `intensity`
 * restarts within `period` stops every child and the supervisor itself (reason `shutdown`,
 * marked `escalated`), and its parent decides what follows.
 */
import { type BackoffOptions, backoffDelay, resolveBackoff } from './backoff.ts'
import { channels } from './channels.ts'
import type { Clock } from './clock.ts'
import {
  DuplicateChildError,
  InvalidOptionError,
  RestartRefusedError,
  SupervisorEscalatedError,
  serializeError,
} from './errors.ts'
import { describeExit, type ExitReason, isNormalExit } from './exit.ts'
import type { RefTarget } from './ref.ts'
import type { Child, ExitListener, NodeState, RestartType, TreeNode } from './tree.ts'

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one'

export interface SupervisorOptions {
  readonly strategy?: Strategy
  /** At most this many restarts within `period`; one more stops the supervisor and escalates. */
  readonly intensity?: number
  /** The window for `intensity`, ms. */
  readonly period?: number
  readonly backoff?: BackoffOptions
  readonly restart?: RestartType
  /** How long the whole subtree may take to stop before what is still running in it is forced, ms. */
  readonly shutdownTimeout?: number
  /**
   * A child that ran this long (ms) before it exited was stable: it is restarted at once and its
   * exit does not count toward `intensity` — a worker the OOM killer or an operator killed after
   * it served is no crash loop. Unset: every exit counts and backs off, as in OTP.
   */
  readonly stableAfter?: number
}

export const supervisorDefaults = {
  strategy: 'one_for_one',
  intensity: 5,
  period: 10_000, // 10 s
  restart: 'permanent',
  shutdownTimeout: 30_000, // 30 s: children have their own timeouts; this is the bound above them
} as const

/** What a child learns from the supervisor that builds it. */
export interface SpawnContext {
  readonly parentPath: string
  readonly onExit: ExitListener
  readonly clock: Clock
  /** Finds any actor of the system by path, for actors that message each other. */
  readonly resolve: (path: string) => RefTarget | undefined
  /** Where warnings go (SystemOptions.log). */
  readonly log: (line: string) => void
}

/** Builds a child once the supervisor knows where it goes. */
export type ChildFactory = (context: SpawnContext) => Child

interface Entry {
  readonly child: Child
  attempt: number
  timer: unknown
}

export class Supervisor implements Child {
  readonly id: string
  readonly path: string
  readonly restart: RestartType
  restartCount = 0
  startedAtMono = 0

  readonly strategy: Strategy
  readonly kind: 'supervisor' | 'pool'
  readonly intensity: number
  readonly period: number
  readonly #backoff: Required<BackoffOptions>
  readonly #clock: Clock
  readonly #onExit: ExitListener
  readonly #shutdownTimeout: number
  readonly #stableAfter: number | undefined
  /** Tells lost by children this supervisor no longer has (their tree nodes are gone). */
  #goneLost = 0
  #stopping: Promise<void> | undefined
  readonly #entries: Entry[] = []
  #restarts: number[] = []
  #state: NodeState = 'stopped'
  #startedAt: number | null = null
  #lastExit: ExitReason | null = null
  /** Children we are stopping on purpose (a group restart): their exits are expected. */
  readonly #expected = new Set<Child>()
  #groupRestart = false
  /** Exits that came in while a group restart was stopping its members: handled after it. */
  readonly #deferred: Array<[Child, ExitReason]> = []
  /** Restarts an operator asked for (restartChild), under way: a second ask joins the first. */
  readonly #asked = new Map<Entry, Promise<TreeNode>>()

  readonly #resolve: SpawnContext['resolve']
  readonly #log: SpawnContext['log']

  constructor(
    id: string,
    options: SupervisorOptions,
    context: SpawnContext,
    kind: 'supervisor' | 'pool' = 'supervisor',
  ) {
    const { parentPath, clock, onExit } = context
    this.#resolve = context.resolve
    this.#log = context.log
    this.kind = kind
    this.id = id
    this.path = `${parentPath}/${id}`
    this.strategy = options.strategy ?? supervisorDefaults.strategy
    this.intensity = options.intensity ?? supervisorDefaults.intensity
    this.period = options.period ?? supervisorDefaults.period
    this.restart = options.restart ?? supervisorDefaults.restart
    this.#backoff = resolveBackoff(options.backoff, `${this.path}.backoff`)
    this.#clock = clock
    this.#onExit = onExit
    this.#shutdownTimeout = options.shutdownTimeout ?? supervisorDefaults.shutdownTimeout
    this.#stableAfter = options.stableAfter
  }

  get state(): NodeState {
    return this.#state
  }

  get children(): readonly Child[] {
    return this.#entries.map((e) => e.child)
  }

  /** Adds a child without starting it: the initial children of a supervisor not yet started. */
  seed(factory: ChildFactory): Entry {
    const child = factory({
      parentPath: this.path,
      onExit: (c, reason) => this.#childExited(c, reason),
      clock: this.#clock,
      resolve: this.#resolve,
      log: this.#log,
    })
    if (this.#entries.some((e) => e.child.id === child.id))
      throw new DuplicateChildError(`${this.path} already has a child "${child.id}"`)
    const entry: Entry = { child, attempt: 0, timer: undefined }
    this.#entries.push(entry)
    return entry
  }

  /** Adds a child (and starts it if the supervisor is running). Order of addition is start order. */
  async add(factory: ChildFactory): Promise<Child> {
    const entry = this.seed(factory)
    const child = entry.child
    if (this.#state === 'ready' || this.#state === 'starting') {
      try {
        await this.#firstStart(child)
      } catch (error) {
        // A child that cannot start when added is not kept: the caller hears why.
        this.#remove(entry)
        throw error
      }
    }
    return child
  }

  /** Stops one child for good (pool scale-down, removal); `as` names why (e.g. recycled). */
  async removeChild(child: Child, as?: ExitReason): Promise<void> {
    const entry = this.#entries.find((e) => e.child === child)
    if (!entry) return
    this.#clock.clearTimeout(entry.timer)
    this.#expected.add(child)
    await child.stop(as)
    this.#expected.delete(child)
    this.#delete(entry)
  }

  /**
   * Restarts one running child because an operator asked: a graceful stop that keeps what
   * waits for it (stopForRestart), then a start; resolves with its node once it is ready
   * again. Not a crash: it counts in the child's restarts but not toward this supervisor's
   * intensity nor the child's backoff, and no automatic restart follows it. Only the new
   * start can fail (the child's init): that failure is a crash like any other, handled by
   * this supervisor's strategy, and the caller hears why.
   */
  async restartChild(id: string): Promise<TreeNode> {
    const entry = this.#entries.find((e) => e.child.id === id)
    if (!entry) {
      const ids = this.#entries.map((e) => e.child.id).join(', ') || 'none'
      throw new InvalidOptionError(`${this.path} has no child "${id}" (children: ${ids})`)
    }
    const under = this.#asked.get(entry)
    if (under) return under
    if (this.#state !== 'ready')
      throw new RestartRefusedError(`${this.path} is ${this.#state}: it restarts none of its children now`)
    const { state } = entry.child
    if (state !== 'ready')
      throw new RestartRefusedError(
        `${entry.child.path} is ${state}: only a ready child is restarted on request`,
      )
    const restarting = this.#restartAsked(entry).finally(() => this.#asked.delete(entry))
    this.#asked.set(entry, restarting)
    return restarting
  }

  async #restartAsked(entry: Entry): Promise<TreeNode> {
    const { child } = entry
    this.#expected.add(child)
    try {
      await child.stopForRestart()
    } finally {
      this.#expected.delete(child)
    }
    // Stopped for good meanwhile (this supervisor stopping, the child removed): not started again.
    if (this.#state !== 'ready' || !this.#entries.includes(entry))
      throw new RestartRefusedError(`${child.path} was stopped while it restarted: it is not started again`)
    const reason = child.tree().lastExit
    // Observers counting restarts per child stay in step with the tree; attempt 0: no backoff.
    if (reason)
      channels.restart.publish({ path: child.path, supervisor: this.path, attempt: 0, delayMs: 0, reason })
    child.restartCount++
    try {
      await child.start()
    } catch (error) {
      // As in #restartNow: a cell reports its failed start itself, a supervisor does not.
      if (child instanceof Supervisor)
        this.#childExited(child, { kind: 'crash', error: serializeError(error) })
      throw error
    }
    return child.tree()
  }

  /** Removes a child that did not start: it never took a message. */
  #remove(entry: Entry): void {
    const index = this.#entries.indexOf(entry)
    if (index >= 0) this.#entries.splice(index, 1)
  }

  /** Deletes a child's spec for good; the tells it lost stay counted, on this supervisor. */
  #delete(entry: Entry): void {
    this.#goneLost += lostIn(entry.child.tree())
    this.#remove(entry)
  }

  async start(): Promise<void> {
    this.#stopping = undefined
    this.#state = 'starting'
    this.#startedAt = Date.now()
    this.startedAtMono = this.#clock.now()
    this.#restarts = []
    channels.spawn.publish({ path: this.path, kind: 'supervisor' })
    const started: Child[] = []
    for (const entry of this.#entries) {
      try {
        entry.attempt = 0
        await this.#firstStart(entry.child)
        started.push(entry.child)
      } catch (error) {
        // OTP: a child that fails its first start fails the supervisor's start; undo what began.
        for (const child of started.reverse()) await this.#stopExpected(child)
        this.#state = 'failed'
        throw error
      }
    }
    this.#state = 'ready'
  }

  /** A first start that fails is the caller's error, not a crash to restart. */
  async #firstStart(child: Child): Promise<void> {
    this.#expected.add(child)
    try {
      await child.start()
    } finally {
      this.#expected.delete(child)
    }
  }

  /**
   * Stops every child in reverse start order, each with its own shutdown timeout, the whole
   * within `shutdownTimeout`: past it, whatever still runs in the subtree is killed.
   * `force`: children are killed at once instead of asked (a fast stop).
   */
  stop(_as?: ExitReason, force = false): Promise<void> {
    if (force) this.kill({ kind: 'shutdown', forced: true })
    if (this.#state === 'stopped') return Promise.resolve()
    if (this.#state === 'failed' && !this.#stopping) {
      // Gave up (or never started): nothing runs below it, and its exit was published then.
      this.markStopped()
      return Promise.resolve()
    }
    this.#stopping ??= this.#stopSubtree(force)
    return this.#stopping
  }

  async #stopSubtree(force: boolean): Promise<void> {
    this.#state = 'stopping'
    let forced = force
    const bound = this.#clock.setTimeout(() => {
      forced = true
      this.kill({ kind: 'shutdown', forced: true })
    }, this.#shutdownTimeout)
    try {
      await this.#stopAll(this.#entries.map((e) => e.child))
    } finally {
      this.#clock.clearTimeout(bound)
    }
    this.#exited({ kind: 'shutdown', forced })
    this.#state = 'stopped'
  }

  /** For a group restart of its parent: its children stop (reverse order) keeping their mailboxes. */
  async stopForRestart(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return
    this.#state = 'restarting'
    await this.#stopAll(
      this.#entries.map((e) => e.child),
      'restart',
    )
    this.#exited({ kind: 'shutdown', forced: false })
  }

  /** Records and publishes this supervisor's exit, as every node does. */
  #exited(reason: ExitReason): void {
    this.#lastExit = reason
    channels.exit.publish({ path: this.path, reason })
  }

  /**
   * Reverse start order, one at a time, each with its own shutdown timeout. A pool's
   * members are independent of each other, so they drain together: one at a time would
   * make a stop last members × graceful timeout. `restart`: they will be started again, so
   * what waits for them is kept (see Child.stopForRestart).
   */
  async #stopAll(children: readonly Child[], purpose: 'good' | 'restart' = 'good'): Promise<void> {
    if (this.kind === 'pool') {
      await Promise.all(children.map((child) => this.#stopExpected(child, purpose)))
      return
    }
    for (const child of [...children].reverse()) await this.#stopExpected(child, purpose)
  }

  async #stopExpected(child: Child, purpose: 'good' | 'restart' = 'good'): Promise<void> {
    const entry = this.#entries.find((e) => e.child === child)
    if (entry) this.#clock.clearTimeout(entry.timer)
    this.#expected.add(child)
    try {
      // A temporary child is never started again (OTP): it always stops for good.
      if (purpose === 'restart' && child.restart !== 'temporary') await child.stopForRestart()
      else await child.stop()
    } finally {
      this.#expected.delete(child)
    }
  }

  markRestarting(): void {
    this.#state = 'restarting'
  }

  /** Kills every child now; nothing is restarted after (the caller stops this supervisor). */
  kill(reason: ExitReason): void {
    if (this.#state === 'ready' || this.#state === 'starting') this.#state = 'stopping'
    for (const entry of this.#entries) {
      this.#clock.clearTimeout(entry.timer)
      entry.child.kill(reason)
    }
  }

  /** Not started again: its children refuse what waits for them. */
  markStopped(): void {
    this.#state = 'stopped'
    for (const { child } of this.#entries) child.markStopped()
  }

  #childExited(child: Child, reason: ExitReason): void {
    if (this.#expected.has(child)) return
    if (this.#state !== 'ready') return
    const entry = this.#entries.find((e) => e.child === child)
    if (!entry) return
    const restart = child.restart === 'permanent' || (child.restart === 'transient' && !isNormalExit(reason))
    if (!restart) {
      // OTP keeps a transient child's spec (the tree shows it stopped, with what it lost);
      // only a temporary child's is deleted.
      child.markStopped()
      if (child.restart === 'temporary') this.#delete(entry)
      return
    }
    if (this.#groupRestart) {
      this.#deferred.push([child, reason])
      return
    }
    const uptime = this.#clock.now() - child.startedAtMono
    const stable = this.#stableAfter !== undefined && uptime >= this.#stableAfter
    if (!stable && this.#exceedsIntensity()) {
      void this.#escalate(child.path, reason)
      return
    }
    // A child that stayed up long enough is stable again: its backoff starts over.
    if (stable || uptime >= this.#backoff.resetAfter) entry.attempt = 0
    const delay = stable ? 0 : backoffDelay(this.#backoff, entry.attempt, this.#clock.random())
    entry.attempt++
    channels.restart.publish({
      path: child.path,
      supervisor: this.path,
      attempt: entry.attempt,
      delayMs: delay,
      reason,
    })
    switch (this.strategy) {
      case 'one_for_one':
        this.#restartLater(entry, [entry], delay)
        return
      case 'one_for_all':
        void this.#restartGroup(entry, this.#entries.slice(), delay)
        return
      case 'rest_for_one':
        void this.#restartGroup(entry, this.#entries.slice(this.#entries.indexOf(entry)), delay)
        return
    }
  }

  #exceedsIntensity(): boolean {
    const now = this.#clock.now()
    this.#restarts = this.#restarts.filter((t) => now - t < this.period)
    this.#restarts.push(now)
    return this.#restarts.length > this.intensity
  }

  /**
   * Stops the rest of the group (reverse start order), then restarts the group in start
   * order. What waits for a member stays for its next incarnation; a temporary member is
   * never restarted (OTP): it is stopped for good and its spec deleted.
   */
  async #restartGroup(failed: Entry, group: Entry[], delay: number): Promise<void> {
    if (this.#groupRestart) return
    this.#groupRestart = true
    try {
      const others = group.filter((e) => e !== failed)
      await this.#stopAll(
        others.map((e) => e.child),
        'restart',
      )
      for (const entry of others) if (entry.child.restart === 'temporary') this.#delete(entry)
      if (this.#state !== 'ready') return
      this.#restartLater(
        failed,
        group.filter((e) => this.#entries.includes(e)),
        delay,
      )
    } finally {
      this.#groupRestart = false
      for (const [child, reason] of this.#deferred.splice(0)) this.#childExited(child, reason)
    }
  }

  /**
   * A group member that an operator restart (restartChild) starts or has started while the
   * group stopped: it runs a fresh incarnation already, so the group restart leaves it be.
   */
  #startedOnRequest(entry: Entry): boolean {
    const { state } = entry.child
    return this.#asked.has(entry) || state === 'starting' || state === 'ready'
  }

  #restartLater(trigger: Entry, group: Entry[], delay: number): void {
    for (const entry of group) if (!this.#startedOnRequest(entry)) entry.child.markRestarting()
    this.#clock.clearTimeout(trigger.timer)
    trigger.timer = this.#clock.setTimeout(() => {
      trigger.timer = undefined
      void this.#restartNow(group)
    }, delay)
  }

  async #restartNow(group: Entry[]): Promise<void> {
    for (const entry of group) {
      if (this.#state !== 'ready') return
      if (!this.#entries.includes(entry) || this.#startedOnRequest(entry)) continue
      entry.child.restartCount++
      try {
        await entry.child.start()
      } catch (error) {
        // A cell that fails to start reports its own exit (and is handled like any other);
        // a supervisor does not, so its failure is an exit here: another restart, or escalation.
        if (entry.child instanceof Supervisor)
          this.#childExited(entry.child, { kind: 'crash', error: serializeError(error) })
        return
      }
    }
  }

  /**
   * OTP: past its intensity a supervisor stops its children and itself with reason shutdown.
   * Whether it starts again is its parent's call, so its children keep what waits for them
   * until then: a restart delivers it, a parent that lets it go refuses it (markStopped).
   */
  async #escalate(lastPath: string, last: ExitReason): Promise<void> {
    this.#state = 'failed'
    const restarts = this.#restarts.length - 1
    channels.escalate.publish({ path: this.path, restarts, periodMs: this.period })
    for (const entry of this.#entries) this.#clock.clearTimeout(entry.timer)
    await this.#stopAll(
      this.#entries.map((e) => e.child),
      'restart',
    )
    // The exit that tipped it, as the cause and in the message, so that the one line an operator
    // reads says why (an app whose setup fails, not only how many restarts). Escalated from
    // below, the cause is that escalation's: the exit at the bottom is the one worth reading.
    const bottom =
      (last.kind === 'shutdown' && last.escalated?.cause?.message) || `${lastPath} ${describeExit(last)}`
    const error = new SupervisorEscalatedError(
      `${this.path} gave up: more than ${this.intensity} restarts within ${this.period} ms; the last: ${bottom}`,
      { cause: new Error(bottom) },
    )
    const reason: ExitReason = { kind: 'shutdown', forced: false, escalated: serializeError(error) }
    this.#exited(reason)
    this.#onExit(this, reason)
  }

  tree(): TreeNode {
    return {
      path: this.path,
      name: this.id,
      kind: 'supervisor',
      state: this.#state,
      startedAt: this.#startedAt,
      restarts: this.restartCount,
      lastExit: this.#lastExit,
      strategy: this.kind === 'pool' ? 'pool' : this.strategy,
      intensity: this.intensity,
      periodMs: this.period,
      lost: this.#goneLost,
      children: this.#entries.map((e) => e.child.tree()),
    }
  }
}

/** Tells lost anywhere in a subtree. */
const lostIn = (node: TreeNode): number =>
  (node.lost ?? 0) + (node.children ?? []).reduce((sum, child) => sum + lostIn(child), 0)
