/**
 * Runs one actor definition: builds its state, takes messages one at a time in arrival
 * order, replies to asks. The same host runs in a worker thread, a child process, or the
 * parent's own loop (local placement), so behaviour cannot drift between placements.
 */
import type { Transferable } from 'node:worker_threads'
import { type ActorContext, type ActorDefinition, isTransfer, lookupDefinition } from '../actor.ts'
import { Caller } from '../calls.ts'
import {
  ActorCrashedError,
  ActorInitError,
  ActorModuleSpawnsError,
  ActorNotFoundError,
  serializeError,
  UncloneableMessageError,
  UnknownMessageError,
} from '../errors.ts'
import type { ExitReason } from '../exit.ts'
import { makeRef } from '../ref.ts'
import type { FromHost, StartMessage, ToHost } from './actor-protocol.ts'
import { importActorModule } from './loading.ts'

export interface HostPort {
  send(message: FromHost, transfer?: readonly Transferable[]): void
  /** Called once: deliver `{ t: 'exit', reason, processed }` as the final message, then end the placement. */
  exit(reason: ExitReason, processed: number): void
}

type Work = Extract<ToHost, { t: 'tell' | 'ask' }>

export class ActorHost {
  readonly #port: HostPort
  readonly #queue: Work[] = []
  #definition: ActorDefinition | undefined
  #state: unknown
  #running = false
  #ready = false
  #ended = false
  #stopRequested: 'normal' | 'shutdown' | undefined
  #processed = 0
  #ackScheduled = false
  #context: ActorContext
  readonly #calls: Caller

  constructor(port: HostPort, path: string) {
    this.#port = port
    this.#calls = new Caller((call, transfer) => this.#port.send(call, transfer))
    this.#context = Object.freeze({
      path,
      stop: () => {
        this.#stopRequested ??= 'normal'
      },
      ref: (_definition: ActorDefinition, target: string) => makeRef(this.#calls.target(target)),
      report: (info: Readonly<Record<string, unknown>>) => {
        if (!this.#ended) this.#port.send({ t: 'info', info })
      },
    }) as ActorContext
  }

  /** Resolve the definition from its module; for local placement the definition is passed in. */
  async start(start: StartMessage, definition?: ActorDefinition): Promise<void> {
    try {
      if (!definition) {
        await importActorModule(start.module)
        definition = lookupDefinition(start.module, start.name)
        if (!definition)
          throw new ActorNotFoundError(`module ${start.module} registered no actor named "${start.name}"`)
      }
      this.#definition = definition
      this.#state = await definition.behaviour.init(start.args, this.#context)
    } catch (error) {
      const wrapped =
        error instanceof ActorNotFoundError || error instanceof ActorModuleSpawnsError
          ? error
          : new ActorInitError(`actor ${start.path} failed to start: ${(error as Error)?.message ?? error}`, {
              cause: error,
            })
      this.#port.send({ t: 'init-failed', error: serializeError(wrapped) })
      this.#end({ kind: 'crash', error: serializeError(error) })
      return
    }
    this.#ready = true
    this.#port.send({ t: 'ready' })
    this.#drain()
  }

  deliver(message: ToHost): void {
    if (this.#ended) return
    if (message.t === 'start') return
    if (message.t === 'call-reply') {
      this.#calls.settle(message)
      return
    }
    if (message.t === 'stop') {
      this.#stopRequested ??= 'shutdown'
      if (!this.#running) this.#drain()
      return
    }
    this.#queue.push(message)
    if (!this.#running && this.#ready) this.#drain()
  }

  async #drain(): Promise<void> {
    if (this.#running || !this.#ready) return
    this.#running = true
    while (!this.#ended) {
      if (this.#stopRequested) {
        await this.#finish()
        return
      }
      const work = this.#queue.shift()
      if (!work) break
      const ok = await this.#handle(work)
      if (!ok) return
    }
    this.#running = false
  }

  /** Returns false when the actor crashed and must not take further messages. */
  async #handle(work: Work): Promise<boolean> {
    const definition = this.#definition!
    const handler = Object.hasOwn(definition.behaviour.handle, work.type)
      ? definition.behaviour.handle[work.type]
      : undefined
    if (!handler) {
      // Not a crash: the receiver lives on and the sender learns why.
      this.#processed++
      if (work.t === 'ask')
        this.#replyError(
          work.id,
          new UnknownMessageError(`actor ${this.#context.path} has no handler "${work.type}"`),
        )
      else this.#scheduleAck()
      return true
    }
    let result: unknown
    try {
      result = handler(this.#state, work.payload, this.#context)
      if (result instanceof Promise) result = await result
    } catch (error) {
      this.#processed++
      if (work.t === 'ask') {
        // What the handler threw travels as the cause, with its stack from this side.
        const crashed = new ActorCrashedError(
          `actor ${this.#context.path} crashed handling "${work.type}": ${(error as Error)?.message ?? error}`,
          { cause: error },
        )
        this.#replyError(work.id, crashed)
      }
      this.#end({ kind: 'crash', error: serializeError(error) })
      return false
    }
    this.#processed++
    if (work.t === 'ask') {
      try {
        if (isTransfer(result)) {
          this.#port.send(
            { t: 'reply', id: work.id, ok: true, value: result.value, processed: this.#processed },
            result.transferList,
          )
        } else {
          this.#port.send({ t: 'reply', id: work.id, ok: true, value: result, processed: this.#processed })
        }
      } catch (error) {
        // A reply that cannot be cloned is the handler's bug, but the asker must hear of it.
        this.#replyError(
          work.id,
          new UncloneableMessageError(
            `the reply of actor ${this.#context.path} to "${work.type}" cannot be sent back: ${(error as Error).message}`,
            { cause: error },
          ),
        )
      }
    } else this.#scheduleAck()
    return true
  }

  #replyError(id: number, error: Error): void {
    this.#port.send({ t: 'reply', id, ok: false, error: serializeError(error), processed: this.#processed })
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return
    this.#ackScheduled = true
    setImmediate(() => {
      this.#ackScheduled = false
      if (!this.#ended) this.#port.send({ t: 'ack', processed: this.#processed })
    })
  }

  async #finish(): Promise<void> {
    const why = this.#stopRequested!
    // The queue is left unprocessed: the exit reports the exact count, so the cell hands those
    // messages to the next incarnation, or refuses them (and counts tells lost) if none comes.
    let reason: ExitReason = why === 'normal' ? { kind: 'normal' } : { kind: 'shutdown', forced: false }
    try {
      await this.#definition?.behaviour.terminate?.(this.#state)
    } catch (error) {
      reason = { kind: 'crash', error: serializeError(error) }
    }
    this.#end(reason)
  }

  #end(reason: ExitReason): void {
    if (this.#ended) return
    this.#ended = true
    this.#queue.length = 0
    this.#port.exit(reason, this.#processed)
  }
}
