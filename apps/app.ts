/**
 * App styles troupe serves, and `defineApp`. An app module's default export is one of:
 * - an object with `fetch(request) => Response` (web-standard; Hono's app is one),
 * - a function `(req, res)` (Node style; an Express app is one),
 * - `defineApp({...})`, which adds a name, per-worker `setup`/`teardown` and app actors.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ActorDefinition, ProtocolOfDefinition } from '../runtime/actor.ts'
import { AppLoadError, AppStyleError } from '../runtime/errors.ts'
import type { ActorRef } from '../runtime/ref.ts'
import type { ActorOptions } from '../runtime/system.ts'
import { nodeHttp } from '../transports/http/node-http.ts'
import { parseAppRef } from './app-ref.ts'
import type { WebSocketHooks } from './websocket-hooks.ts'

/** What a request handler gets besides the request. */
export interface AppContext {
  /** A typed ref to one of the app's actors (declared in `defineApp({ actors })`). */
  actor<D extends ActorDefinition>(definition: D): ActorRef<ProtocolOfDefinition<D>>
  /** Which worker serves this request. */
  readonly worker: {
    readonly id: string
    readonly generation: number
    readonly pid: number
    readonly threadId: number
  }
}

/** What `setup` gets: the request context, and the worker's own `http.Server`. */
export interface SetupContext extends AppContext {
  /**
   * This worker's `http.Server`, which serves every connection the worker takes (it never
   * listens itself): what `new WebSocketServer({ server: ctx.server })` (ws) or socket.io's
   * `new Server(ctx.server)` attach to.
   */
  readonly server: Server
}

/** What `drain` gets: when the worker will cut what is still open. */
export interface DrainContext extends AppContext {
  /** Epoch ms: past it, the worker closes the upgraded connections left (a WebSocket with 1001, Going Away). */
  readonly deadline: number
}

/** node:http's 'upgrade' event, for the app: the socket (and what was read past the head) is the app's. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, ctx: AppContext) => unknown

export type FetchHandler = (request: Request, ctx: AppContext) => Response | Promise<Response>
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown

/** An actor the app registers: a definition (placed in a thread), or one with options. */
export type AppActor =
  | ActorDefinition
  | { readonly actor: ActorDefinition; readonly options?: AppActorOptions }
export type AppActorOptions = Omit<ActorOptions<unknown>, 'id' | 'args'> & { readonly args?: unknown }

interface AppHooks {
  readonly name?: string
  /** Runs once per worker before it takes connections (open a pool, attach a WebSocket server to `ctx.server`…). */
  readonly setup?: (ctx: SetupContext) => unknown
  /**
   * Serves HTTP Upgrade requests (WebSocket…) on the worker's event loop, whatever its kind:
   * node:http's 'upgrade' event. Without it (and without an 'upgrade' listener of the app's own
   * on `ctx.server`), an Upgrade request is served as an ordinary request.
   */
  readonly upgrade?: UpgradeHandler
  /**
   * crossws hooks (`open`, `message`, `close`, `error`, `upgrade`…) for the app's WebSocket
   * upgrades, as srvx's `serve({ fetch, websocket })` takes them; served on the worker's event
   * loop through crossws' Node adapter, which the app installs (troupe imports it only for an app
   * that has `websocket`). Instead of `upgrade`, not beside it.
   */
  readonly websocket?: WebSocketHooks
  /**
   * A graceful stop or reload began: the worker takes no new connections, and its upgraded
   * ones stay open until they close or `ctx.deadline` (gracefulTimeout). The app may say
   * goodbye to its clients now (close its WebSockets with 1001 and a reason).
   */
  readonly drain?: (ctx: DrainContext) => unknown
  /** Runs once per worker after it drained (close the pool…). */
  readonly teardown?: () => unknown
  /** Long-lived actors shared by every worker, supervised by the master. */
  readonly actors?: readonly AppActor[]
}

export type AppOptions = AppHooks &
  (
    | { readonly fetch: FetchHandler; readonly handler?: never }
    | { readonly handler: NodeHandler; readonly fetch?: never }
  )

const APP = Symbol.for('troupe.app')

export interface AppDefinition extends AppHooks {
  readonly [APP]: true
  readonly fetch?: FetchHandler
  readonly handler?: NodeHandler
}

/** Defines an app with a name, per-worker hooks and app actors. */
export const defineApp = (options: AppOptions): AppDefinition =>
  Object.freeze({ ...options, [APP]: true as const })

/** The app as troupe runs it, whatever style it was written in. */
export interface ResolvedApp {
  readonly name: string
  readonly style: 'fetch' | 'node'
  readonly fetch?: FetchHandler
  readonly handler?: NodeHandler
  readonly setup?: (ctx: SetupContext) => unknown
  readonly upgrade?: UpgradeHandler
  readonly websocket?: WebSocketHooks
  readonly drain?: (ctx: DrainContext) => unknown
  readonly teardown?: () => unknown
  readonly actors: ReadonlyArray<{ readonly definition: ActorDefinition; readonly options: AppActorOptions }>
}

const nameOf = (url: string) =>
  url
    .split('/')
    .pop()!
    .replace(/\.[cm]?[jt]s$/, '')

/** App actors as `{ definition, options }`, whichever way they were listed. */
export const normalizeActors = (list: readonly AppActor[]): ResolvedApp['actors'] =>
  list.map((entry) =>
    'actor' in entry
      ? { definition: entry.actor, options: entry.options ?? {} }
      : { definition: entry, options: {} },
  )

/** Classifies a module's export (the default one unless named); throws TROUPE_E_APP_LOAD naming what was found. */
export const resolveApp = (exported: unknown, url: string, exportName = 'default'): ResolvedApp => {
  const app = exported as Partial<AppDefinition> | NodeHandler | undefined
  const fallbackName = exportName === 'default' ? nameOf(url) : exportName
  if (typeof app === 'function')
    return { name: app.name || fallbackName, style: 'node', handler: app, actors: [] }
  if (app && typeof app === 'object') {
    const fetch = typeof app.fetch === 'function' ? app.fetch.bind(app) : undefined
    const handler = typeof app.handler === 'function' ? app.handler : undefined
    if (fetch || handler) {
      const actors = normalizeActors(app.actors ?? [])
      const websocket = app.websocket
      if (websocket !== undefined && (typeof websocket !== 'object' || websocket === null))
        throw new AppLoadError(
          `${url}: \`websocket\` must be an object of crossws hooks, not ${websocket === null ? 'null' : typeof websocket}`,
        )
      // Both would take the same Upgrade requests, and only one can own a socket.
      if (websocket && app.upgrade)
        throw new AppLoadError(
          `${url} has both \`upgrade\` and \`websocket\`: both serve Upgrade requests, keep one`,
        )
      return {
        name: app.name ?? fallbackName,
        style: fetch ? 'fetch' : 'node',
        ...(fetch ? { fetch } : {}),
        ...(handler ? { handler } : {}),
        ...(app.setup ? { setup: app.setup } : {}),
        ...(app.upgrade ? { upgrade: app.upgrade } : {}),
        ...(websocket ? { websocket } : {}),
        ...(app.drain ? { drain: app.drain } : {}),
        ...(app.teardown ? { teardown: app.teardown } : {}),
        actors,
      }
    }
  }
  const what = exportName === 'default' ? 'default export' : `export "${exportName}"`
  const found =
    app === undefined
      ? `no ${what}`
      : `${exportName === 'default' ? 'a' : 'an'} ${what} of type ${typeof app}`
  throw new AppLoadError(
    `${url} has ${found}; expected an object with fetch(request), a (req, res) function, or defineApp({...})`,
  )
}

/**
 * A Node-style handler that gives each request node:http's prototype (Express does: its
 * `app.request` inherits from `IncomingMessage.prototype`, and it swaps every request's
 * prototype for it). node:http2's compatibility request is not a node:http one: such an app
 * fails on every HTTP/2 request (a crash, in Express's case), so it is served HTTP/1.1 only.
 */
export const needsHttp1 = (app: ResolvedApp): boolean => {
  const proto = (app.handler as { request?: unknown } | undefined)?.request
  return typeof proto === 'object' && proto !== null && proto instanceof nodeHttp.IncomingMessage
}

/** A (req, res) handler needs the live socket, so it cannot run on a pool thread (kind thread-pool). */
export const assertKindFits = (app: ResolvedApp, kind: 'coroutine' | 'thread-pool'): void => {
  if (kind === 'thread-pool' && app.style === 'node')
    throw new AppStyleError(
      `${app.name} is a Node-style (req, res) handler, which needs the live socket: use --kind coroutine, or export { fetch } to run under thread-pool`,
    )
}

/** A module URL as the user knows the file: its path, without the query a reload adds. */
export const appFile = (url: string): string => url.replace(/^file:\/\//, '').replace(/[?#].*$/, '')

/**
 * Why this Node cannot import a TypeScript file, or undefined when it can (or the file is
 * JavaScript). Type stripping is on by default from Node 22.18 and 23.6; before that (or with
 * it turned off) a `.ts` import fails with a message that does not say so.
 */
export const typeStrippingMissing = (
  file: string,
  node: { readonly version: string; readonly typescript: unknown } = {
    version: process.version,
    typescript: (process.features as { typescript?: unknown }).typescript,
  },
): string | undefined => {
  const path = appFile(file)
  if (!/\.[cm]?ts$/.test(path)) return undefined
  if (node.typescript === 'strip' || node.typescript === 'transform') return undefined
  return `${path} is TypeScript, which this Node (${node.version}) cannot run: type stripping needs Node >= 22.18 (on by default); use a newer Node, or compile it to .js`
}

/**
 * Imports an app module and resolves the style of its default export, or of the export the
 * reference names (`file:///app.ts:api`, see app-ref.ts); every failure is a TROUPE_E_APP_LOAD
 * naming the file (and the export).
 */
export const loadApp = async (ref: string): Promise<ResolvedApp> => {
  const { module: url, exportName } = parseAppRef(ref)
  const typescript = typeStrippingMissing(url)
  if (typescript) throw new AppLoadError(typescript)
  const file = appFile(url)
  let module: Record<string, unknown>
  try {
    module = await import(url)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' && (error as Error).message.includes(file))
      throw new AppLoadError(`app module not found: ${file}`, { cause: error })
    throw new AppLoadError(`app module ${file} threw while loading: ${(error as Error).message}`, {
      cause: error,
    })
  }
  if (exportName !== 'default' && !(exportName in module)) {
    const names = Object.keys(module).filter((name) => name !== 'default')
    throw new AppLoadError(
      `${file} has no export "${exportName}" (it exports: ${names.join(', ') || 'nothing by name'})`,
    )
  }
  return resolveApp(module[exportName], url.replace(/\?.*$/, ''), exportName)
}
