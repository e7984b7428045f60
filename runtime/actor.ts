import { pathToFileURL } from 'node:url'
import type { Transferable } from 'node:worker_threads'
import { InvalidOptionError } from './errors.ts'
import type { ActorRef } from './ref.ts'

export type Placement = 'local' | 'thread' | 'process'

/** What a handler can do besides replying. */
export interface ActorContext {
  /** The actor's path in the supervision tree, e.g. `/app/visits`. */
  readonly path: string
  /** Stop this actor after the current message, with exit reason `normal`. */
  stop(): void
  /**
   * A typed ref to another actor of the same system, by path (e.g. `/troupe/actors/visits`).
   * Works from every placement: from a thread or process, messages go through the parent.
   */
  ref<D extends ActorDefinition>(definition: D, path: string): ActorRef<ProtocolOfDefinition<D>>
  /** Publish a small status object; the tree shows the latest as `info`. */
  report(info: Readonly<Record<string, unknown>>): void
}

/** A handler: gets the private state and one message payload, returns the reply (or a promise of it). */
export type Handler<S> = (state: S, payload: any, ctx: ActorContext) => unknown

export type Handlers<S> = Record<string, Handler<S>>

/** One entry of a protocol: what the message carries and what `ask` resolves to. */
export interface MessageSpec<Payload, Reply> {
  readonly payload: Payload
  readonly reply: Reply
}

/** The protocol an actor accepts, derived from its handlers. */
export type ProtocolOf<H> = {
  [K in keyof H & string]: H[K] extends (state: any, ...rest: infer A) => infer R
    ? MessageSpec<A extends [] ? undefined : A[0], UnwrapReply<Awaited<R>>>
    : never
}

/** A schema per message type; validated where the message enters the actor (the ref). */
export type SchemasFor<H> = { readonly [K in keyof H]?: unknown }

export interface ActorDefinitionOptions<S, A, H extends Handlers<S>> {
  /** Unique within its module; with the module it identifies the actor in another thread or process. */
  readonly name: string
  /** Builds the private state. Runs inside the actor's placement; may be async. */
  readonly init: (args: A, ctx: ActorContext) => S | Promise<S>
  readonly handle: H
  /** Runs on graceful shutdown, inside the placement, after the last message. */
  readonly terminate?: (state: S) => void | Promise<void>
  /** Effect Schemas, per message type: a payload that does not decode is refused with TROUPE_E_INVALID_MESSAGE. */
  readonly schema?: SchemasFor<H>
  /**
   * The module that defines this actor (`import.meta.url`), for thread and process placement.
   * Found from the call site when omitted.
   */
  readonly module?: string
}

declare const protocolBrand: unique symbol

/** A definition made by `defineActor`. Its protocol types every ref to it. */
export interface ActorDefinition<P = any, A = any> {
  readonly name: string
  readonly module: string
  readonly handlerNames: readonly string[]
  readonly schema: Readonly<Record<string, unknown>> | undefined
  /** @internal the untyped behaviour, run by the actor host. */
  readonly behaviour: {
    readonly init: (args: any, ctx: ActorContext) => unknown
    readonly handle: Readonly<Record<string, Handler<any>>>
    readonly terminate: ((state: any) => void | Promise<void>) | undefined
  }
  readonly [protocolBrand]?: { protocol: P; args: A }
}

export type ProtocolOfDefinition<D> = D extends ActorDefinition<infer P, any> ? P : never
export type ArgsOfDefinition<D> = D extends ActorDefinition<any, infer A> ? A : never

const REGISTRY = Symbol.for('troupe.actor-registry')
type Registry = Map<string, ActorDefinition>
// One registry per isolate, even when the source and the built bundle are both loaded.
const globals = globalThis as Record<symbol, unknown>
if (!globals[REGISTRY]) globals[REGISTRY] = new Map()
const registry = globals[REGISTRY] as Registry

export const registryKey = (module: string, name: string) => `${module}#${name}`

/** Finds a definition that an imported module registered; used inside threads and processes. */
export const lookupDefinition = (module: string, name: string): ActorDefinition | undefined =>
  registry.get(registryKey(module, name))

const OWN_FILE = import.meta.url

/**
 * The module that called defineActor, from the stack. A why: thread and process placements
 * must import the same module on the other side to find the behaviour, and asking every
 * user to pass `import.meta.url` is noise when V8 already knows it.
 */
const callerModule = (): string | undefined => {
  const stack = new Error().stack?.split('\n') ?? []
  for (const line of stack.slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):\d+:\d+\)?\s*$/.exec(line)
    if (!match?.[1]) continue
    const url = match[1].startsWith('file://') ? match[1] : pathToFileURL(match[1]).href
    if (url === OWN_FILE || url.includes('/node_modules/troupe/') || /\/dist\/index\.js$/.test(url)) continue
    if (url.endsWith('/runtime/actor.ts') || url.endsWith('/runtime/index.ts')) continue
    return url
  }
  return undefined
}

/**
 * Defines an actor: a name, private state built by `init`, and one handler per message type.
 * The same definition runs in every placement (`local`, `thread`, `process`).
 *
 * ```ts
 * export const counter = defineActor({
 *   name: 'counter',
 *   init: (start: number) => ({ n: start }),
 *   handle: { add: (s, by: number) => (s.n += by), get: (s) => s.n },
 * })
 * ```
 */
export const defineActor = <S, H extends Handlers<S>, A = void>(
  options: ActorDefinitionOptions<S, A, H>,
): ActorDefinition<ProtocolOf<H>, A> => {
  if (typeof options.name !== 'string' || options.name.length === 0 || options.name.includes('/'))
    throw new InvalidOptionError('defineActor: options.name must be a non-empty string without "/"')
  if (typeof options.init !== 'function')
    throw new InvalidOptionError(`defineActor(${options.name}): options.init must be a function`)
  const handlerNames = Object.keys(options.handle ?? {})
  for (const key of handlerNames) {
    if (typeof options.handle[key] !== 'function')
      throw new InvalidOptionError(`defineActor(${options.name}): options.handle.${key} must be a function`)
  }
  const module = options.module ?? callerModule() ?? 'troupe:anonymous'
  const definition: ActorDefinition<ProtocolOf<H>, A> = Object.freeze({
    name: options.name,
    module,
    handlerNames,
    schema: options.schema as Record<string, unknown> | undefined,
    behaviour: Object.freeze({
      init: options.init as (args: any, ctx: ActorContext) => unknown,
      handle: options.handle,
      terminate: options.terminate as ((state: any) => void | Promise<void>) | undefined,
    }),
  })
  registry.set(registryKey(module, options.name), definition)
  return definition
}

const TRANSFER = Symbol.for('troupe.transfer')

/** A reply whose buffers move to the asker instead of being copied (thread placement). */
export interface Transfer<T> {
  readonly [TRANSFER]: true
  readonly value: T
  readonly transferList: readonly Transferable[]
}

type UnwrapReply<R> = R extends Transfer<infer T> ? T : R

/** Wrap a handler's reply so its ArrayBuffers (etc.) are transferred, not cloned. */
export const transfer = <T>(value: T, transferList: readonly Transferable[]): Transfer<T> => ({
  [TRANSFER]: true,
  value,
  transferList,
})

export const isTransfer = (value: unknown): value is Transfer<unknown> =>
  typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TRANSFER] === true
