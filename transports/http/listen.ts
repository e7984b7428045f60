/**
 * Bind addresses: `HOST:PORT`, `[v6]:PORT`, `:PORT`, or `unix:PATH`. Unix socket files get
 * their mode set, stale files from a dead process are replaced, and the file goes on close.
 */
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs'
import net from 'node:net'
import { dirname } from 'node:path'
import { ConfigError, ListenError } from '../../runtime/errors.ts'

export type BindAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string }

export const parseBind = (text: string, option = 'bind'): BindAddress => {
  if (text.startsWith('unix:')) {
    const path = text.slice(5)
    if (!path) throw new ConfigError(`${option}: "${text}" needs a path after unix:`)
    return { kind: 'unix', path }
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text)
  const port = Number(match?.[3])
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${option}: "${text}" is not HOST:PORT, [V6]:PORT or unix:PATH`)
  return { kind: 'tcp', host: match[1] ?? (match[2] || '0.0.0.0'), port }
}

export const formatBind = (bind: BindAddress): string =>
  bind.kind === 'unix'
    ? `unix:${bind.path}`
    : `${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${bind.port}`

/** Removes a socket file nobody listens on (left by a crash); refuses to touch anything else. */
const clearStaleSocket = async (path: string): Promise<void> => {
  if (!existsSync(path)) return
  if (!lstatSync(path).isSocket())
    throw new ListenError(`unix:${path} exists and is not a socket; not replacing it`)
  // Only a refused connection proves nobody listens; any other error (EACCES, EAGAIN from a
  // full backlog) leaves the file alone.
  const inUse = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path)
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'ECONNREFUSED'))
  })
  if (inUse) throw new ListenError(`unix:${path} is in use by another process`)
  unlinkSync(path)
}

export interface ListenOptions {
  readonly backlog: number
  readonly socketMode?: number
  readonly reusePort?: boolean
}

/** Binds `server` to `bind`; every failure becomes one TROUPE_E_LISTEN line naming the address. */
export const listen = async (
  server: net.Server,
  bind: BindAddress,
  options: ListenOptions,
): Promise<BindAddress> => {
  if (bind.kind === 'unix') {
    if (!existsSync(dirname(bind.path)))
      throw new ListenError(`unix:${bind.path}: directory ${dirname(bind.path)} does not exist`)
    await clearStaleSocket(bind.path)
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'address already in use'
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.code === 'EADDRNOTAVAIL'
              ? 'address not available on this machine'
              : error.message
      reject(new ListenError(`cannot listen on ${formatBind(bind)}: ${why}`, { cause: error }))
    }
    server.once('error', onError)
    const done = () => {
      server.off('error', onError)
      resolve()
    }
    if (bind.kind === 'unix') server.listen({ path: bind.path, backlog: options.backlog }, done)
    else
      server.listen(
        { host: bind.host, port: bind.port, backlog: options.backlog, reusePort: options.reusePort ?? false },
        done,
      )
  })
  if (bind.kind === 'unix') {
    if (options.socketMode !== undefined) chmodSync(bind.path, options.socketMode)
    return bind
  }
  const address = server.address() as net.AddressInfo
  return { kind: 'tcp', host: bind.host, port: address.port }
}
