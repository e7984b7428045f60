/**
 * crossws hooks for an app's WebSocket upgrades: `defineApp({ fetch, websocket: hooks })` (or
 * `export default { fetch, websocket }`), the shape srvx's `serve({ fetch, websocket })` takes.
 * crossws is the app's dependency, not troupe's: its Node adapter is imported by a worker whose
 * app has `websocket`, and nowhere else, so an app without one never needs crossws installed.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { AppLoadError } from '../runtime/errors.ts'

/**
 * crossws hooks (`defineHooks` from crossws types them fully): `upgrade(request)` may refuse
 * (return or throw a Response) or accept with headers, a context or a namespace; `open(peer)`,
 * `message(peer, message)`, `close(peer, { code, reason })`, `error(peer, error)`, `drain(peer)`
 * follow the socket. Or `resolve(request)` picks the hooks per request (a router's). `options.node`
 * goes to crossws' Node adapter as it is (its `serverOptions`, `idleTimeout`…).
 */
export interface WebSocketHooks {
  upgrade?(request: Request): unknown
  open?(peer: any): unknown
  message?(peer: any, message: any): unknown
  close?(peer: any, details: { code?: number; reason?: string }): unknown
  error?(peer: any, error: any): unknown
  drain?(peer: any): unknown
  ping?(peer: any, data: any): unknown
  pong?(peer: any, data: any): unknown
  resolve?(request: Request): unknown
  readonly options?: { readonly node?: object }
}

/** What a worker needs of crossws' Node adapter (crossws/adapters/node). */
interface NodeAdapter {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>
}
export type NodeAdapterFactory = (options: object) => NodeAdapter

/** crossws' Node adapter, from the app's node_modules (external in the build: see tsup.config.ts). */
const importNodeAdapter = async (): Promise<NodeAdapterFactory> =>
  ((await import('crossws/adapters/node')) as unknown as { default: NodeAdapterFactory }).default

/**
 * The app's `upgrade` handler made of its crossws hooks: every Upgrade request goes through
 * crossws' Node adapter (its bundled ws does the handshake and the frames). Throws
 * TROUPE_E_APP_LOAD when crossws cannot be loaded (`load` stands in for the import in tests).
 */
export const crosswsUpgrade = async (
  hooks: WebSocketHooks,
  load: () => Promise<NodeAdapterFactory> = importNodeAdapter,
): Promise<(req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>> => {
  let nodeAdapter: NodeAdapterFactory
  try {
    nodeAdapter = await load()
  } catch (error) {
    throw new AppLoadError(
      `the app's \`websocket\` hooks are served through crossws' Node adapter, which could not be loaded (${(error as Error).message}): install crossws in the app (npm install crossws)`,
      { cause: error },
    )
  }
  // As srvx's crossws plugin does: the hooks object itself, its resolve, and its node options.
  const adapter = nodeAdapter({
    ...hooks.options?.node,
    hooks,
    ...(hooks.resolve ? { resolve: hooks.resolve.bind(hooks) } : {}),
  })
  return (req, socket, head) => adapter.handleUpgrade(req, socket, head)
}
