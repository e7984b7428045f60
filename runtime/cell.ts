/**
 * The parent-side home of one actor. It outlives restarts: refs point at the cell, the
 * cell points at the current incarnation. It owns the mailbox (runtime/mailbox.ts: counted
 * at the sender, redelivered exactly), pending asks, heartbeat watching and the exit reason.
 */
import { Socket } from 'node:net'
import type { ActorDefinition, Placement } from './actor.ts'
import { answerCall } from './calls.ts'
import { channels, type ReadyEvent } from './channels.ts'
import type { Clock } from './clock.ts'
import { type Decoder, loadDecoders } from './decoders.ts'
import {
  ActorExitedError,
  ActorInitError,
  ActorStoppedError,
  deserializeError,
  InvalidMessageError,
  UncloneableMessageError,
  UnknownMessageError,
} from './errors.ts'
import { describeExit, type ExitReason } from './exit.ts'
import { HeartbeatWatch } from './heartbeat.ts'
import {
  exitFromPlacement,
  type Incarnation,
  type PlacementExit,
  type PlacementOptions,
  startIncarnation,
} from './incarnation.ts'
import { type Letter, Mailbox } from './mailbox.ts'
import { PendingAsks } from './pending.ts'
import type { FromHost, StartMessage, ToHost } from './placement/actor-protocol.ts'
import type { AskOptions, RefTarget, TellOptions } from './ref.ts'
import type { Child, ExitListener, NodeState, RestartType, TreeNode } from './tree.ts'
import { warningLine } from './warnings.ts'

export interface CellOptions extends PlacementOptions {
  readonly id: string
  readonly path: string
  readonly definition: ActorDefinition
  readonly placement: Placement
  readonly args: unknown
  readonly restart: RestartType
  readonly shutdownTimeout: number
  readonly mailbox: number
  readonly askTimeout: number
  readonly heartbeatInterval: number
  readonly heartbeatTimeout: number
  readonly clock: Clock
  readonly onExit: ExitListener
  /** Finds another actor of the system for messages this one sends by path (`ctx.ref`). */
  readonly resolve: (path: string) => RefTarget | undefined
  /** Where warnings go (SystemOptions.log). */
  readonly log: (line: string) => void
  /** Called with each status the actor reports (`ctx.report`). */
  readonly onInfo?: (info: Readonly<Record<string, unknown>>) => void
  /** The owner's hooks (see ActorOptions.onReady / onExit). */
  readonly onReady?: (event: ReadyEvent) => void
  readonly onIncarnationExit?: (reason: ExitReason) => void
}

type Work = Extract<ToHost, { t: 'tell' | 'ask' }>

export class ActorCell implements Child, RefTarget {
  readonly id: string
  readonly path: string
  readonly restart: RestartType
  restartCount = 0
  startedAtMono = 0

  readonly #options: CellOptions
  readonly #handlers: ReadonlySet<string>
  #decoders: ReadonlyMap<string, Decoder> | undefined
  #state: NodeState = 'stopped'
  #incarnation: Incarnation | undefined
  #startedAt: number | null = null
  #spawnMono = 0
  #lastExit: ExitReason | null = null
  #hostReason: ExitReason | undefined
  #initError: Error | undefined
  /** Why we ended the incarnation ourselves, if we did: overrides what the placement reports. */
  #killedFor: ExitReason | undefined
  #ready: { resolve: () => void; reject: (e: Error) => void } | undefined
  #stopped: (() => void) | undefined
  /** A stop for a group restart keeps the mailbox for the next incarnation; a final one refuses it. */
  #stopFor: 'restart' | 'good' = 'good'
  #stopTimer: unknown
  readonly #mailbox: Mailbox<Work>
  readonly #pending = new PendingAsks()
  #exactCount = false
  #stopAs: ExitReason | undefined
  #heartbeats: HeartbeatWatch | undefined
  #memory: { rss: number; heapUsed: number } | null = null
  #info: Readonly<Record<string, unknown>> | null = null

  constructor(options: CellOptions) {
    this.#options = options
    this.id = options.id
    this.path = options.path
    this.restart = options.restart
    this.#handlers = new Set(options.definition.handlerNames)
    this.#mailbox = new Mailbox(options.mailbox)
  }

  get state(): NodeState {
    return this.#state
  }

  async start(): Promise<void> {
    const { schema } = this.#options.definition
    if (schema && !this.#decoders) this.#decoders = await loadDecoders(schema)
    this.#hostReason = undefined
    this.#exactCount = false
    this.#killedFor = undefined
    this.#initError = undefined
    this.#memory = null
    this.#info = null
    this.#state = 'starting'
    this.#startedAt = Date.now()
    this.#spawnMono = this.#options.clock.now()
    this.startedAtMono = this.#spawnMono
    const { definition, placement } = this.#options
    channels.spawn.publish({ path: this.path, kind: 'actor', placement })
    const start: StartMessage = {
      t: 'start',
      module: definition.module,
      name: definition.name,
      path: this.path,
      args: this.#options.args,
      heartbeatMs: placement === 'local' ? 0 : this.#options.heartbeatInterval,
    }
    const ready = new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject }
    })
    try {
      const incarnation = startIncarnation(placement, definition, start, this.#options, {
        message: (message) => this.#onMessage(incarnation, message),
        lost: () => this.#onLost(incarnation),
        exit: (exit) => this.#onPlacementExit(incarnation, exit),
      })
      this.#incarnation = incarnation
    } catch (error) {
      this.#ready = undefined
      this.#state = 'failed'
      throw new ActorInitError(`actor ${this.path} could not be placed: ${(error as Error).message}`, {
        cause: error,
      })
    }
    if (start.heartbeatMs > 0) {
      const { clock, heartbeatInterval, heartbeatTimeout } = this.#options
      this.#heartbeats = new HeartbeatWatch(clock, heartbeatInterval, heartbeatTimeout, (silentMs) =>
        this.kill({ kind: 'timeout', silentMs }),
      )
    }
    return ready
  }

  #onMessage(from: Incarnation, message: FromHost): void {
    if (from !== this.#incarnation) return
    switch (message.t) {
      case 'ready': {
        // A stop asked for while it was starting stands.
        if (this.#state === 'starting') this.#state = 'ready'
        const event: ReadyEvent = {
          path: this.path,
          pid: from.pid,
          threadId: from.threadId,
          spawnMs: this.#options.clock.now() - this.#spawnMono,
        }
        this.#options.onReady?.(event)
        channels.ready.publish(event)
        for (const letter of this.#mailbox.release()) this.#post(letter)
        this.#ready?.resolve()
        this.#ready = undefined
        return
      }
      case 'reply':
        this.#mailbox.processed(message.processed)
        this.#pending.settle(message.id, message.ok, message.value, message.error)
        return
      case 'ack':
        this.#mailbox.processed(message.processed)
        return
      case 'heartbeat':
        this.#heartbeats?.beat()
        this.#memory = message.memory
        return
      case 'info':
        this.#info = message.info
        this.#options.onInfo?.(message.info)
        if (channels.report.hasSubscribers) channels.report.publish({ path: this.path, info: message.info })
        return
      case 'call':
        this.#relay(from, message)
        return
      case 'init-failed':
        this.#initError = deserializeError(message.error)
        return
      case 'exit':
        this.#hostReason = message.reason
        this.#mailbox.processed(message.processed)
        this.#exactCount = true
        // From here on, new messages wait for the next incarnation instead of joining a dying one.
        if (this.#state === 'ready') this.#state = 'failed'
        return
    }
  }

  /**
   * The placement says the incarnation is gone before its exit is known: nothing more is posted
   * to it (it would be lost unread — a socket closed unserved); it waits for the next one, and
   * the state tells owners (a pool choosing a worker) to look elsewhere meanwhile.
   */
  #onLost(from: Incarnation): void {
    if (from !== this.#incarnation) return
    if (this.#state === 'ready') this.#state = 'failed'
  }

  #onPlacementExit(from: Incarnation, exit: PlacementExit): void {
    if (from !== this.#incarnation) return
    this.#incarnation = undefined
    this.#heartbeats?.stop()
    this.#heartbeats = undefined
    this.#options.clock.clearTimeout(this.#stopTimer)
    let reason = this.#killedFor ?? this.#hostReason ?? exitFromPlacement(exit)
    if (this.#stopAs && reason.kind === 'shutdown' && !reason.forced) reason = this.#stopAs
    this.#stopAs = undefined
    this.#lastExit = reason
    const stopping = this.#state === 'stopping'
    if (this.#state !== 'restarting') this.#state = stopping ? 'stopped' : 'failed'
    this.#options.onIncarnationExit?.(reason)
    channels.exit.publish({ path: this.path, reason })
    this.#salvage(reason)
    if (this.#ready) {
      const error =
        this.#initError ??
        new ActorInitError(`actor ${this.path} exited (${describeExit(reason)}) before it was ready`)
      this.#ready.reject(error)
      this.#ready = undefined
    }
    if (this.#stopped) {
      const done = this.#stopped
      this.#stopped = undefined
      if (this.#stopFor === 'good') this.markStopped()
      done()
      return
    }
    this.#options.onExit(this, reason)
  }

  /** Carries a message from this actor to another, and the reply back. */
  #relay(from: Incarnation, call: Extract<FromHost, { t: 'call' }>): void {
    answerCall(
      call,
      this.#options.resolve,
      (reply) => {
        if (call.id !== 0 && from === this.#incarnation) from.post(reply)
      },
      (error) =>
        this.#options.log(
          warningLine('TROUPE_W_TELL_FAILED', `${this.path} → ${call.path} "${call.type}": ${error.message}`),
        ),
    )
  }

  /**
   * After an incarnation ends: the mailbox keeps for the next one what this one never started
   * (when its count is exact). Asks whose fate is unknown — the actor died mid-message or was
   * killed — are rejected with the reason; their tells are counted lost. Redelivering those
   * could run a poison message forever.
   */
  #salvage(reason: ExitReason): void {
    const exact = this.#exactCount
    this.#exactCount = false
    for (const letter of this.#mailbox.incarnationEnded(exact)) discard(letter)
    const waiting = new Set(this.#mailbox.waiting.map((l) => (l.message.t === 'ask' ? l.message.id : -1)))
    this.#pending.rejectAll(
      () => new ActorExitedError(`actor ${this.path} exited (${describeExit(reason)}) before it replied`),
      waiting,
    )
  }

  markRestarting(): void {
    this.#state = 'restarting'
  }

  /** Not started again: what waits for it is refused (asks) or counted lost (tells). */
  markStopped(): void {
    this.#state = 'stopped'
    for (const letter of this.#mailbox.close()) {
      const { message } = letter
      discard(letter)
      if (message.t === 'ask')
        this.#pending.reject(
          message.id,
          new ActorStoppedError(`actor ${this.path} stopped before handling "${message.type}"`),
        )
    }
  }

  /** Ends the current incarnation now (terminate / SIGKILL) and records `reason` as its exit. */
  kill(reason: ExitReason): void {
    if (!this.#incarnation || this.#killedFor) return
    this.#killedFor = reason
    // Killed is as good as gone: what is posted from now on waits for the next incarnation.
    if (this.#state === 'ready') this.#state = 'failed'
    this.#incarnation.kill()
  }

  /** Graceful stop; `as` replaces the exit reason of a stop that went well (e.g. recycled). */
  stop(as?: ExitReason): Promise<void> {
    if (as) this.#stopAs = as
    return this.#stop('good')
  }

  /**
   * Stops the current incarnation because its supervisor restarts a group: messages keep
   * being accepted and what was not started waits for the next incarnation.
   */
  stopForRestart(): Promise<void> {
    return this.#stop('restart')
  }

  #stop(purpose: 'restart' | 'good'): Promise<void> {
    // A stop for good overrides a stop for a restart that is still under way, never the reverse.
    if (purpose === 'good' || !this.#stopped) this.#stopFor = purpose
    this.#state = this.#stopFor === 'good' ? 'stopping' : 'restarting'
    const incarnation = this.#incarnation
    if (!incarnation) {
      if (purpose === 'good') this.markStopped()
      return Promise.resolve()
    }
    if (this.#stopped)
      return new Promise((resolve) => {
        const previous = this.#stopped!
        this.#stopped = () => {
          previous()
          resolve()
        }
      })
    return new Promise<void>((resolve) => {
      this.#stopped = resolve
      try {
        incarnation.post({ t: 'stop' })
      } catch {
        // A channel already closing: the forced path below finishes the job.
      }
      this.#stopTimer = this.#options.clock.setTimeout(() => {
        if (this.#incarnation !== incarnation) return
        this.#killedFor = { kind: 'shutdown', forced: true }
        incarnation.kill()
      }, this.#options.shutdownTimeout)
    })
  }

  // ---- the sender's side -------------------------------------------------------------

  #check(type: string, payload: unknown): unknown {
    if (this.#state === 'stopped' || this.#state === 'stopping')
      throw new ActorStoppedError(`actor ${this.path} is ${this.#state}`)
    if (!this.#handlers.has(type))
      throw new UnknownMessageError(`actor ${this.path} has no handler "${type}"`)
    const decode = this.#decoders?.get(type)
    if (decode) {
      try {
        payload = decode(payload)
      } catch (error) {
        throw new InvalidMessageError(`actor ${this.path} refused "${type}": ${(error as Error).message}`, {
          cause: error,
        })
      }
    }
    this.#mailbox.admit(this.path)
    return payload
  }

  /** ms since the last heartbeat (0 for local actors, which have none). */
  get silentMs(): number {
    if (this.#options.placement === 'local' || this.#state !== 'ready') return 0
    return this.#heartbeats?.silentMs ?? 0
  }

  get mailboxDepth(): number {
    return this.#mailbox.depth
  }

  /** Tells lost so far (see TreeNode.lost). */
  get lost(): number {
    return this.#mailbox.lost
  }

  #post(letter: Letter<Work>): void {
    const incarnation = this.#incarnation
    if (this.#state !== 'ready' || !incarnation) {
      this.#mailbox.hold(letter)
      return
    }
    const { message, transfer } = letter
    try {
      incarnation.post(message, transfer)
    } catch (error) {
      throw new UncloneableMessageError(
        `actor ${this.path}: the message cannot cross the ${this.#options.placement} boundary: ${(error as Error).message}`,
        { cause: error },
      )
    }
    this.#mailbox.sent(letter)
  }

  tell(type: string, payload: unknown, options: TellOptions | undefined): void {
    const checked = this.#check(type, payload)
    this.#post({ message: { t: 'tell', type, payload: checked }, transfer: options?.transfer })
  }

  ask(type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    let checked: unknown
    try {
      checked = this.#check(type, payload)
    } catch (error) {
      return Promise.reject(error)
    }
    const limits = { timeout: options?.timeout ?? this.#options.askTimeout, signal: options?.signal }
    return this.#pending.open(`"${type}" to ${this.path}`, limits, (id) =>
      this.#post({ message: { t: 'ask', id, type, payload: checked }, transfer: options?.transfer }),
    )
  }

  tree(): TreeNode {
    const incarnation = this.#incarnation
    return {
      path: this.path,
      name: this.id,
      kind: 'actor',
      state: this.#state,
      startedAt: this.#startedAt,
      restarts: this.restartCount,
      lastExit: this.#lastExit,
      placement: this.#options.placement,
      pid: incarnation?.pid ?? null,
      threadId: incarnation?.threadId ?? null,
      mailbox: this.mailboxDepth,
      mailboxCapacity: this.#options.mailbox,
      lost: this.#mailbox.lost,
      memory: this.#memory,
      info: this.#info,
    }
  }
}

/** A message that will never be delivered must not keep a client's socket open. */
const discard = (queued: Letter<Work>): void => {
  for (const item of queued.transfer ?? []) if (item instanceof Socket) item.destroy()
}
