/**
 * The one catalogue of troupe's errors. Every failure a caller can branch on has a class
 * here with a stable `code`; README.md documents each code and spec/errors.test.ts keeps
 * the two in step.
 */

export interface SerializedError {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly stack?: string
  /** The error's `cause`, carried a few levels deep (an ActorCrashedError's cause is what the handler threw). */
  readonly cause?: SerializedError
}

/**
 * Brands, by `Symbol.for`, so that `instanceof` holds across copies of troupe (the source and
 * the built bundle, two installs, a second import of this module): an error carries its code
 * under CODE, a catalogue class carries the code it stands for under CLASS_CODE.
 */
const CODE = Symbol.for('troupe.error.code')
const CLASS_CODE = Symbol.for('troupe.error.class-code')
const BASE = Symbol.for('troupe.error.base')

/** Base class of every error troupe raises; `code` is stable across releases. */
export class TroupeError extends Error {
  readonly code: string
  static readonly [BASE] = true

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
    Object.defineProperty(this, CODE, { value: code })
  }
}

/**
 * `err instanceof ActorCrashedError` asks "does err carry that code", and
 * `err instanceof TroupeError` "does it carry any troupe code": true for an error made by
 * another copy of troupe too. Classes outside the catalogue (a user's subclass) keep the
 * prototype check. Installed on the base class, so every subclass inherits it.
 */
function hasTroupeInstance(this: object, value: unknown): boolean {
  if (Object.hasOwn(this, CLASS_CODE)) return brandOf(value) === (this as Branded)[CLASS_CODE]
  if (Object.hasOwn(this, BASE)) return brandOf(value) !== undefined
  return Function.prototype[Symbol.hasInstance].call(this, value)
}
Object.defineProperty(TroupeError, Symbol.hasInstance, { value: hasTroupeInstance })

interface Branded {
  readonly [CLASS_CODE]: string
}

const brandOf = (value: unknown): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined
  const code = (value as Record<symbol, unknown>)[CODE]
  return typeof code === 'string' ? code : undefined
}

type CatalogueClass<C extends string> = {
  new (message?: string, options?: { cause?: unknown }): TroupeError & { readonly code: C }
  readonly prototype: TroupeError
}

const define = <C extends string>(code: C, name: string, description: string): CatalogueClass<C> => {
  const Class = class extends TroupeError {
    declare readonly code: C
    constructor(message: string = description, options?: { cause?: unknown }) {
      super(code, message, options)
      this.name = name
    }
  }
  Object.defineProperty(Class, 'name', { value: name })
  Object.defineProperty(Class, CLASS_CODE, { value: code })
  catalogue.push({ code, name, description })
  classes.set(code, Class as unknown as CatalogueClass<string>)
  return Class as unknown as CatalogueClass<C>
}

const classes = new Map<string, CatalogueClass<string>>()

export interface CatalogueEntry {
  readonly code: string
  readonly name: string
  readonly description: string
}
const catalogue: CatalogueEntry[] = []
/** Every error code troupe defines, for docs and tooling. */
export const errorCatalogue: readonly CatalogueEntry[] = catalogue

// Actors and refs
export const MailboxFullError = define(
  'TROUPE_E_MAILBOX_FULL',
  'MailboxFullError',
  "the actor's mailbox is at capacity; the message was not enqueued",
)
export const AskTimeoutError = define(
  'TROUPE_E_ASK_TIMEOUT',
  'AskTimeoutError',
  'no reply arrived within the ask timeout',
)
export const AskAbortedError = define(
  'TROUPE_E_ASK_ABORTED',
  'AskAbortedError',
  "the ask was aborted by the caller's AbortSignal",
)
export const UnknownMessageError = define(
  'TROUPE_E_UNKNOWN_MESSAGE',
  'UnknownMessageError',
  "the actor's protocol has no handler for this message type",
)
export const InvalidMessageError = define(
  'TROUPE_E_INVALID_MESSAGE',
  'InvalidMessageError',
  "the message payload does not match the actor's declared schema",
)
export const ActorCrashedError = define(
  'TROUPE_E_ACTOR_CRASHED',
  'ActorCrashedError',
  'the handler for this message threw; the actor crashed and its supervisor decides what follows',
)
export const ActorExitedError = define(
  'TROUPE_E_ACTOR_EXITED',
  'ActorExitedError',
  'the actor exited before it replied',
)
export const ActorStoppedError = define(
  'TROUPE_E_ACTOR_STOPPED',
  'ActorStoppedError',
  'the actor is stopped and will not be restarted',
)
export const ActorInitError = define(
  'TROUPE_E_ACTOR_INIT',
  'ActorInitError',
  'the actor failed to start: its module could not be loaded, or init threw',
)
export const ActorNotFoundError = define(
  'TROUPE_E_ACTOR_NOT_FOUND',
  'ActorNotFoundError',
  'no actor definition with this name was registered by its module',
)
export const UncloneableMessageError = define(
  'TROUPE_E_UNCLONEABLE',
  'UncloneableMessageError',
  'the message or reply cannot be structured-cloned across the placement boundary',
)
export const ActorModuleSpawnsError = define(
  'TROUPE_E_ACTOR_MODULE_SPAWNS',
  'ActorModuleSpawnsError',
  "the actor's module starts an actor system inside a thread or process that hosts its actor, which would spawn again without end; move the definition to its own module",
)
export const InvalidOptionError = define(
  'TROUPE_E_INVALID_OPTION',
  'InvalidOptionError',
  'an option has an invalid value; the message names the option and what was expected',
)

// Supervision
export const SupervisorEscalatedError = define(
  'TROUPE_E_ESCALATED',
  'SupervisorEscalatedError',
  'a supervisor exceeded its restart intensity, stopped its children and escalated to its parent',
)
export const DuplicateChildError = define(
  'TROUPE_E_DUPLICATE_CHILD',
  'DuplicateChildError',
  'a supervisor already has a child with this id',
)
export const RestartRefusedError = define(
  'TROUPE_E_RESTART_REFUSED',
  'RestartRefusedError',
  'a restart on request was refused: the child is not ready (starting, restarting after a crash, stopping) or its supervisor is not running',
)
export const SystemStoppedError = define(
  'TROUPE_E_SYSTEM_STOPPED',
  'SystemStoppedError',
  'the actor system is stopped or stopping',
)

// Serving
export const ConfigError = define(
  'TROUPE_E_CONFIG',
  'ConfigError',
  'the configuration is invalid; the message names the option, its source and what was expected',
)
export const AppLoadError = define(
  'TROUPE_E_APP_LOAD',
  'AppLoadError',
  'the app module could not be found, threw while it was imported, or exports no app',
)
export const AppStyleError = define(
  'TROUPE_E_APP_STYLE',
  'AppStyleError',
  'the app style cannot run under the chosen worker kind (a Node (req, res) handler needs the coroutine kind)',
)
export const ListenError = define(
  'TROUPE_E_LISTEN',
  'ListenError',
  'a listener could not be bound: address in use, permission, or a missing directory for a Unix socket',
)
export const PlacementUnsupportedError = define(
  'TROUPE_E_PLACEMENT_UNSUPPORTED',
  'PlacementUnsupportedError',
  'this combination of strategy, placement and Node version cannot work; the message names the alternatives',
)

export const ControlUnreachableError = define(
  'TROUPE_E_CONTROL_UNREACHABLE',
  'ControlUnreachableError',
  'no running master answers on the control socket: none found, several found (pick one), gone, or not yours',
)
export const ControlProtocolError = define(
  'TROUPE_E_CONTROL_PROTOCOL',
  'ControlProtocolError',
  'the CLI and the master speak different control protocol versions: use the troupe that started the master',
)
export const ControlSocketError = define(
  'TROUPE_E_CONTROL_SOCKET',
  'ControlSocketError',
  "the control socket cannot be opened safely: its directory is not the user's own, or another master of that name runs",
)

// Transports
const UwsgiPacketErrorBase = define(
  'TROUPE_E_UWSGI_PACKET',
  'UwsgiPacketError',
  'a connection to a uwsgi listener sent no servable uwsgi request (bad packet, plain HTTP, cut short, too slow); `reason` says which, and the connection is closed',
)
/** A uwsgi connection refused; `reason` is a stable slug (`modifier1`, `http-on-uwsgi`, `truncated`, …). */
export class UwsgiPacketError extends UwsgiPacketErrorBase {
  readonly reason: string
  constructor(message?: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options)
    this.reason = options?.reason ?? 'unknown'
  }
}
// The subclass stands for the code: `instanceof` by brand, and errors rebuilt from it are one.
Object.defineProperty(UwsgiPacketError, CLASS_CODE, { value: 'TROUPE_E_UWSGI_PACKET' })
classes.set('TROUPE_E_UWSGI_PACKET', UwsgiPacketError)

/**
 * Why a connection on a PROXY protocol listener was refused before anything else was read:
 * its peer may not send the header (`untrusted`), it sent something else (`not-proxy`), a
 * header that breaks version 1 or 2 of the protocol (`malformed-v1`, `malformed-v2`), closed
 * before the header was whole (`truncated`), or took too long to send it (`timeout`).
 */
export type ProxyRefusal =
  | 'untrusted'
  | 'not-proxy'
  | 'malformed-v1'
  | 'malformed-v2'
  | 'truncated'
  | 'timeout'

const ProxyProtocolBase = define(
  'TROUPE_E_PROXY_PROTOCOL',
  'ProxyProtocolError',
  'a connection on a PROXY protocol listener was refused: its peer is not trusted, or it sent no valid PROXY header in time; `reason` says which',
)
/** A connection refused by a PROXY protocol listener; `reason` says why, for logs and counters. */
export class ProxyProtocolError extends ProxyProtocolBase {
  /** Undefined only for an error rebuilt across a boundary, which carries code and message alone. */
  readonly reason: ProxyRefusal | undefined

  constructor(message?: string, options?: { reason?: ProxyRefusal; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.reason = options?.reason
  }
}
// The subclass stands for the code (instanceof across copies, deserializeError), not the base define() made.
Object.defineProperty(ProxyProtocolError, CLASS_CODE, { value: 'TROUPE_E_PROXY_PROTOCOL' })
classes.set('TROUPE_E_PROXY_PROTOCOL', ProxyProtocolError as unknown as CatalogueClass<string>)

/** How many `cause`s deep an error is carried across a boundary. */
const CAUSE_DEPTH = 3

export const serializeError = (error: unknown, depth = 0): SerializedError => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const cause = (error as { cause?: unknown }).cause
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
      ...(cause !== undefined && depth < CAUSE_DEPTH ? { cause: serializeError(cause, depth + 1) } : {}),
    }
  }
  return { name: 'Error', message: String(error) }
}

/**
 * Rebuilds an error that crossed a boundary. A troupe code comes back as its catalogue class
 * (so `instanceof` and `code` work as on the side that raised it); anything else as an Error
 * with the same name and code. The remote stack is kept: the error's own stack is the one
 * from the other side, followed by where this side received it.
 */
export const deserializeError = (data: SerializedError): Error => {
  const Class = data.code === undefined ? undefined : classes.get(data.code)
  const cause = data.cause === undefined ? undefined : deserializeError(data.cause)
  const options = cause === undefined ? undefined : { cause }
  const error: Error & { code?: string } = Class
    ? new Class(data.message, options)
    : new Error(data.message, options)
  if (!Class) {
    error.name = data.name
    if (data.code) error.code = data.code
  }
  if (data.stack) {
    const here = error.stack?.split('\n').slice(1).join('\n') ?? ''
    error.stack = `${data.stack}\n    --- received across the placement boundary ---\n${here}`
  }
  return error
}
