/**
 * The actor system: a root supervisor, the calls that put actors, supervisors and pools
 * under it, and the live tree.
 */
import type { ActorDefinition, ArgsOfDefinition, Placement, ProtocolOfDefinition } from './actor.ts'
import { ActorCell } from './cell.ts'
import type { ReadyEvent } from './channels.ts'
import { type Clock, systemClock } from './clock.ts'
import { ActorModuleSpawnsError, InvalidOptionError, SystemStoppedError } from './errors.ts'
import { type ExitReason, givenUpBecause } from './exit.ts'
import type { PlacementOptions } from './incarnation.ts'
import { defaultAskTimeout } from './pending.ts'
import { spawningFromHostedModule } from './placement/loading.ts'
import { retireSpares } from './placement/spare-process.ts'
import { type ActorRef, makeRef } from './ref.ts'
import { type ChildFactory, type SpawnContext, Supervisor, type SupervisorOptions } from './supervisor.ts'
import type { Child, RestartType, TreeNode } from './tree.ts'

export const actorDefaults = {
  placement: 'local',
  restart: 'permanent',
  shutdownTimeout: 5_000, // 5 s, then terminate() / SIGKILL
  mailbox: 1_000, // messages
  askTimeout: defaultAskTimeout, // 5 s
  heartbeatInterval: 1_000, // 1 s
  heartbeatTimeout: 5_000, // 5 s without a heartbeat = a stuck event loop
} as const

export interface ActorOptions<A> extends PlacementOptions {
  /** Id under its supervisor, and the last segment of its path. Defaults to the definition's name. */
  readonly id?: string
  readonly placement?: Placement
  readonly args?: A
  readonly restart?: RestartType
  /** ms to finish gracefully before being forced. */
  readonly shutdownTimeout?: number
  /** Mailbox capacity; past it, senders get TROUPE_E_MAILBOX_FULL. */
  readonly mailbox?: number
  /** Default ask timeout, ms. */
  readonly askTimeout?: number
  /** ms between heartbeats of a thread/process actor. */
  readonly heartbeatInterval?: number
  /** ms of silence after which the actor is terminated with exit reason `timeout`. */
  readonly heartbeatTimeout?: number
  /** Receives each status the actor reports with `ctx.report`. */
  readonly onInfo?: (info: Readonly<Record<string, unknown>>) => void
  /**
   * Called when an incarnation is ready, and when one exits (before its supervisor decides).
   * Hooks are for whoever owns the child (the server's worker pool); outside observers use
   * the diagnostics channels, which carry the same events.
   */
  readonly onReady?: (event: ReadyEvent) => void
  readonly onExit?: (reason: ExitReason) => void
}

/** A child spec: what a supervisor starts, restarts and stops. Made by `actor()`, `supervisor()`, `pool()`. */
export interface ChildSpec {
  readonly id: string
  /** @internal */
  readonly build: (context: SpawnContext) => Child
}

const positive = (value: unknown, path: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InvalidOptionError(`${path} must be a positive number`)
  return value
}

const validId = (id: unknown, path: string): string => {
  if (typeof id !== 'string' || id.length === 0 || id.includes('/'))
    throw new InvalidOptionError(`${path} must be a non-empty string without "/"`)
  return id
}

/** A child spec for one actor. */
export const actor = <D extends ActorDefinition>(
  definition: D,
  options: ActorOptions<ArgsOfDefinition<D>> = {},
) => {
  const id = validId(options.id ?? definition.name, 'actor options.id')
  const placement = options.placement ?? actorDefaults.placement
  if (!['local', 'thread', 'process'].includes(placement))
    throw new InvalidOptionError(`${id}: options.placement must be one of local, thread, process`)
  if (placement !== 'local' && definition.module === 'troupe:anonymous')
    throw new InvalidOptionError(
      `${id}: options.placement "${placement}" needs defineActor({ module: import.meta.url })`,
    )
  const o = {
    restart: options.restart ?? actorDefaults.restart,
    shutdownTimeout: positive(
      options.shutdownTimeout ?? actorDefaults.shutdownTimeout,
      `${id}: options.shutdownTimeout`,
    ),
    mailbox: positive(options.mailbox ?? actorDefaults.mailbox, `${id}: options.mailbox`),
    askTimeout: positive(options.askTimeout ?? actorDefaults.askTimeout, `${id}: options.askTimeout`),
    heartbeatInterval: positive(
      options.heartbeatInterval ?? actorDefaults.heartbeatInterval,
      `${id}: options.heartbeatInterval`,
    ),
    heartbeatTimeout: positive(
      options.heartbeatTimeout ?? actorDefaults.heartbeatTimeout,
      `${id}: options.heartbeatTimeout`,
    ),
  }
  if (!['permanent', 'transient', 'temporary'].includes(o.restart))
    throw new InvalidOptionError(`${id}: options.restart must be one of permanent, transient, temporary`)
  const spec: ChildSpec & { readonly definition: D } = {
    id,
    definition,
    build: ({ parentPath, onExit, clock, resolve, log }) =>
      new ActorCell({
        resolve,
        log,
        ...o,
        ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
        ...(options.execArgv ? { execArgv: options.execArgv } : {}),
        ...(options.env ? { env: options.env } : {}),
        ...(options.spare ? { spare: true } : {}),
        ...(options.onInfo ? { onInfo: options.onInfo } : {}),
        ...(options.onReady ? { onReady: options.onReady } : {}),
        ...(options.onExit ? { onIncarnationExit: options.onExit } : {}),
        id,
        path: `${parentPath}/${id}`,
        definition,
        placement,
        args: options.args,
        clock,
        onExit,
      }),
  }
  return spec
}

export interface SupervisorSpecOptions extends SupervisorOptions {
  readonly id: string
  readonly children: readonly ChildSpec[]
}

/** A child spec for a supervisor of a fixed list of children. */
export const supervisor = (options: SupervisorSpecOptions): ChildSpec => {
  const id = validId(options.id, 'supervisor options.id')
  if (options.strategy && !['one_for_one', 'one_for_all', 'rest_for_one'].includes(options.strategy))
    throw new InvalidOptionError(
      `${id}: options.strategy must be one of one_for_one, one_for_all, rest_for_one`,
    )
  return {
    id,
    build: (context) => {
      const sup = new Supervisor(id, options, context)
      for (const spec of options.children) sup.seed(spec.build)
      return sup
    },
  }
}

export interface PoolOptions<D extends ActorDefinition> extends Omit<SupervisorOptions, 'strategy'> {
  readonly id: string
  readonly size: number
  readonly actor: D
  readonly options?: Omit<ActorOptions<ArgsOfDefinition<D>>, 'id'>
}

/** A pool of identical children (OTP's simple_one_for_one): each restarted alone, resizable live. */
export class Pool<D extends ActorDefinition> {
  readonly #supervisor: Supervisor
  readonly #template: PoolOptions<D>
  #next = 1

  constructor(supervisor: Supervisor, template: PoolOptions<D>) {
    this.#supervisor = supervisor
    this.#template = template
  }

  get path(): string {
    return this.#supervisor.path
  }

  get size(): number {
    return this.#supervisor.children.length
  }

  /** Refs to the current members, in start order. */
  refs(): ActorRef<ProtocolOfDefinition<D>>[] {
    return this.#supervisor.children.map((c) => makeRef<ProtocolOfDefinition<D>>(c as ActorCell))
  }

  /** Adds or removes members (the newest stop first) until there are `n`. */
  async scaleTo(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidOptionError(`${this.path}: pool size must be an integer >= 0`)
    while (this.size < n) await this.#supervisor.add(this.#member())
    while (this.size > n) await this.#supervisor.removeChild(this.#supervisor.children.at(-1)!)
  }

  /** @internal */
  member(): ChildFactory {
    return this.#member()
  }

  #member(): ChildFactory {
    const id = `${this.#template.actor.name}-${this.#next++}`
    return actor(this.#template.actor, { ...this.#template.options, id } as ActorOptions<ArgsOfDefinition<D>>)
      .build
  }
}

export interface SystemOptions extends SupervisorOptions {
  /** The root's name: the first segment of every path. */
  readonly name?: string
  readonly clock?: Clock
  /**
   * Called when the root supervisor escalates: past this point nothing is supervised. The
   * default logs one line and exits the process with status 1, so systemd or Kubernetes sees it.
   */
  readonly onFailure?: (reason: ExitReason) => void
  /** Where warnings go, one line each (`warning: … [TROUPE_W_…]`). Default: standard error. */
  readonly log?: (line: string) => void
}

export interface ActorSystem {
  readonly name: string
  /** Starts an actor under the root supervisor and returns its typed ref. */
  spawn<D extends ActorDefinition>(
    definition: D,
    options?: ActorOptions<ArgsOfDefinition<D>>,
  ): Promise<ActorRef<ProtocolOfDefinition<D>>>
  /** Starts a child spec (e.g. `supervisor({...})`) under the root. */
  start(spec: ChildSpec): Promise<void>
  /** Starts a pool of identical actors under the root. */
  pool<D extends ActorDefinition>(options: PoolOptions<D>): Promise<Pool<D>>
  /** A typed ref to any actor in the tree, by path. */
  ref<D extends ActorDefinition>(definition: D, path: string): ActorRef<ProtocolOfDefinition<D>>
  /** Stops a child of the root for good (graceful, then forced after its shutdown timeout). */
  remove(path: string): Promise<void>
  /**
   * Restarts the actor (or supervisor) at `path` on request: stopped gracefully, keeping the
   * messages waiting for it, and started again under its supervisor; resolves with its node
   * once it is ready. It counts in the node's restarts, not as a crash (Supervisor.restartChild).
   */
  restart(path: string): Promise<TreeNode>
  /** The live supervision tree as plain JSON. */
  tree(): TreeNode
  /** Stops every child in reverse start order (each with its shutdown timeout). */
  stop(): Promise<void>
}

const defaultLog = (line: string) => {
  process.stderr.write(`${line}\n`)
}

const defaultFailure = (reason: ExitReason) => {
  process.stderr.write(`troupe: the root supervisor gave up (${givenUpBecause(reason)}); exiting\n`)
  process.exit(1)
}

/** Creates an actor system with a running root supervisor. */
export const createSystem = async (options: SystemOptions = {}): Promise<ActorSystem> => {
  const hosted = spawningFromHostedModule()
  if (hosted !== undefined)
    throw new ActorModuleSpawnsError(
      `${hosted} starts an actor system in a thread or process that hosts an actor it defines: ` +
        'every thread or process hosting that actor would spawn again. Move the actor definition to its own module ' +
        'and import it from the file that creates the system',
    )
  const name = validId(options.name ?? 'troupe', 'options.name')
  const clock = options.clock ?? systemClock
  const onFailure = options.onFailure ?? defaultFailure
  const log = options.log ?? defaultLog
  let stopped = false
  const root = new Supervisor(name, options, {
    parentPath: '',
    clock,
    onExit: (_child, reason) => {
      stopped = true
      // Nothing above the root restarts it: what waits for its actors is refused now.
      root.markStopped()
      onFailure(reason)
    },
    resolve: (path) => {
      const node = find(path)
      return node instanceof ActorCell ? node : undefined
    },
    log,
  })
  await root.start()

  function find(path: string): Child | undefined {
    const parts = path.split('/').filter(Boolean)
    if (parts[0] !== name) return undefined
    let node: Child = root
    for (const part of parts.slice(1)) {
      if (!(node instanceof Supervisor)) return undefined
      const next: Child | undefined = node.children.find((c) => c.id === part)
      if (!next) return undefined
      node = next
    }
    return node
  }

  const guard = () => {
    if (stopped) throw new SystemStoppedError(`actor system ${name} is stopped`)
  }

  return {
    name,
    async spawn(definition, actorOptions) {
      guard()
      const child = await root.add(actor(definition, actorOptions).build)
      return makeRef(child as ActorCell)
    },
    async start(spec) {
      guard()
      await root.add(spec.build)
    },
    async pool(poolOptions) {
      guard()
      positive(poolOptions.size, `${poolOptions.id}: options.size`)
      const id = validId(poolOptions.id, 'pool options.id')
      let pool: Pool<any> | undefined
      await root.add((context) => {
        const sup = new Supervisor(id, { ...poolOptions, strategy: 'one_for_one' }, context, 'pool')
        pool = new Pool(sup, poolOptions)
        for (let i = 0; i < poolOptions.size; i++) sup.seed(pool.member())
        return sup
      })
      return pool!
    },
    ref(_definition, path) {
      const node = find(path)
      if (!(node instanceof ActorCell)) throw new InvalidOptionError(`no actor at ${path}`)
      return makeRef(node)
    },
    async remove(path) {
      const node = find(path)
      if (!node || !root.children.includes(node))
        throw new InvalidOptionError(`no child of the root at ${path}`)
      await root.removeChild(node)
    },
    async restart(path) {
      guard()
      const node = find(path)
      const parent = node && find(path.slice(0, path.lastIndexOf('/')))
      if (!node || !(parent instanceof Supervisor))
        throw new InvalidOptionError(`no actor or supervisor at ${path}`)
      return parent.restartChild(node.id)
    },
    tree: () => root.tree(),
    async stop() {
      if (stopped) return
      stopped = true
      await root.stop()
      retireSpares()
    },
  }
}
