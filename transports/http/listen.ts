/**
 * Bind addresses: `HOST:PORT`, `[v6]:PORT`, `:PORT`, or `unix:PATH`. Unix socket files get
 * their mode set, stale files from a dead process are replaced, and the file goes on close
 * (`closeListener`) unless a new master took the socket over.
 */
import { chmodSync, existsSync, lstatSync, renameSync, rmSync, unlinkSync } from 'node:fs'
import net from 'node:net'
import { basename, dirname, join } from 'node:path'
import { ConfigError, ListenError } from '../../runtime/errors.ts'

/** What a listener's connections speak beyond plain HTTP: set per listener. */
interface ListenerProtocol {
  /** A `--uwsgi` listener: each connection carries one uwsgi packet (nginx's uwsgi_pass), not HTTP. */
  readonly uwsgi?: true
  /** Each connection opens with a PROXY protocol header (v1 or v2) from a trusted load balancer. */
  readonly proxy?: true
}

export type BindAddress =
  | (ListenerProtocol & {
      readonly kind: 'tcp'
      readonly host: string
      readonly port: number
      /** `https://HOST:PORT`: the worker that takes a connection does the TLS handshake. */
      readonly tls?: true
    })
  | (ListenerProtocol & { readonly kind: 'unix'; readonly path: string })

/** The prefix that names a uwsgi listener among the listeners (`uwsgi:127.0.0.1:3031`). */
const UWSGI = 'uwsgi:'

/**
 * A listener as the master keeps it by name: a bind (`HOST:PORT`, `unix:PATH`…) or a uwsgi
 * listener (`uwsgi:` and its address, from `--uwsgi`).
 */
export const parseListenAddress = (text: string, option = 'bind'): BindAddress =>
  text.startsWith(UWSGI) ? parseUwsgiAddress(text.slice(UWSGI.length), option) : parseBind(text, option)

/** A `--uwsgi` address: `HOST:PORT`, `[V6]:PORT` or `unix:PATH` (no TLS: nginx's uwsgi_pass speaks it in the clear). */
export const parseUwsgiAddress = (text: string, option = 'uwsgi'): BindAddress => {
  if (/^https?:\/\//.test(text))
    throw new ConfigError(
      `${option}: "${text}" is not HOST:PORT, [V6]:PORT or unix:PATH (uwsgi has no scheme)`,
    )
  return { ...parseBind(text, option), uwsgi: true }
}

export const parseBind = (text: string, option = 'bind'): BindAddress => {
  if (text.startsWith('unix:')) {
    const path = text.slice(5)
    if (!path) throw new ConfigError(`${option}: "${text}" needs a path after unix:`)
    return { kind: 'unix', path }
  }
  const scheme = /^(https?):\/\//.exec(text)?.[1]
  const address = scheme ? text.slice(scheme.length + 3) : text
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address)
  const port = Number(match?.[3])
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${option}: "${text}" is not HOST:PORT, [V6]:PORT, https://HOST:PORT or unix:PATH`)
  const host = match[1] ?? (match[2] || '0.0.0.0')
  return scheme === 'https' ? { kind: 'tcp', host, port, tls: true } : { kind: 'tcp', host, port }
}

export const formatBind = (bind: BindAddress): string =>
  (bind.uwsgi ? UWSGI : '') +
  (bind.kind === 'unix'
    ? `unix:${bind.path}`
    : `${bind.tls ? 'https://' : ''}${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${bind.port}`)

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

/**
 * The socket files this process made or adopted, with the inode they had then: removed on
 * close only while the path still names that socket (another process may have replaced it).
 */
const socketFiles = new WeakMap<
  object,
  { readonly path: string; readonly dev: number; readonly ino: number }
>()

/**
 * The socket file at `path` is this process's to remove when `holder` (the net.Server, or the
 * SharedUnixSocket, that owns the socket) closes: see `releaseSocketFile`.
 */
export const claimSocketFile = (holder: object, path: string): void => {
  const { dev, ino } = lstatSync(path)
  socketFiles.set(holder, { path, dev, ino })
}

/**
 * Forgets `holder`'s socket file and, unless `keep`, removes it — only while the path still
 * names the socket claimed (another process may have replaced it since).
 */
export const releaseSocketFile = (holder: object, keep = false): void => {
  const file = socketFiles.get(holder)
  socketFiles.delete(holder)
  if (!file || keep) return
  try {
    const now = lstatSync(file.path)
    if (now.dev === file.dev && now.ino === file.ino) unlinkSync(file.path)
  } catch {}
}

/** sun_path holds 108 bytes, the last a NUL. */
const SUN_PATH_MAX = 107
let privateNames = 0

/**
 * libuv unlinks a Unix socket's path when its handle closes, and a master that handed the
 * socket over to a new master (USR2) must close its handle without taking the file from the
 * new one. So the socket is bound under a private name beside PATH and renamed onto PATH:
 * what libuv unlinks on close is the private name, long gone; PATH is ours to remove. A path
 * too long for a private name beside it is bound directly (and a handover then loses its file).
 */
const privateName = (path: string): string | undefined => {
  const name = join(dirname(path), `.${basename(path).slice(0, 8)}.${process.pid}.${++privateNames}`)
  return Buffer.byteLength(name) <= SUN_PATH_MAX ? name : undefined
}

export interface ListenOptions {
  readonly backlog: number
  readonly socketMode?: number
  readonly reusePort?: boolean
  /**
   * Unix: the caller has vetted what is at the path (a stale socket, or the socket of a master
   * this one replaces): the new socket is renamed over it instead of refusing a live one.
   */
  readonly replace?: boolean
  /**
   * Unix: leave the socket at its private name and return that path; the caller renames it
   * onto the address itself (SharedUnixSocket, once it has its own copy of the descriptor).
   */
  readonly deferRename?: boolean
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
    if (!options.replace) await clearStaleSocket(bind.path)
  }
  const bound = bind.kind === 'unix' ? privateName(bind.path) : undefined
  if (bind.kind === 'unix' && options.replace && !bound) rmSync(bind.path, { force: true })
  if (bound) await clearStaleSocket(bound)
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
    if (bind.kind === 'unix') server.listen({ path: bound ?? bind.path, backlog: options.backlog }, done)
    else
      server.listen(
        { host: bind.host, port: bind.port, backlog: options.backlog, reusePort: options.reusePort ?? false },
        done,
      )
  })
  if (bind.kind === 'unix') {
    // The mode first: the path is never reachable with a wider one.
    if (options.socketMode !== undefined) chmodSync(bound ?? bind.path, options.socketMode)
    if (options.deferRename) return { kind: 'unix', path: bound ?? bind.path }
    if (bound) renameSync(bound, bind.path)
    claimSocketFile(server, bind.path)
    return bind
  }
  const address = server.address() as net.AddressInfo
  return { ...bind, port: address.port }
}

/**
 * Listens on `fd`, a listening socket this process inherited (a new master taking its
 * predecessor's listeners over on USR2): no bind, so no moment where the address is shut.
 * `bind` is the address the socket was bound to. A Unix socket's file stays its old owner's
 * until `claimSocketFile` (the new master serves): a new master that fails to start leaves it.
 */
export const adopt = async (
  server: net.Server,
  fd: number,
  bind: BindAddress,
  options: ListenOptions,
): Promise<BindAddress> => {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) =>
      reject(new ListenError(`cannot listen on inherited ${formatBind(bind)} (fd ${fd}): ${error.message}`))
    server.once('error', onError)
    server.listen({ fd, backlog: options.backlog }, () => {
      server.off('error', onError)
      resolve()
    })
  })
  if (bind.kind === 'unix') {
    if (options.socketMode !== undefined) chmodSync(bind.path, options.socketMode)
    return bind
  }
  return { ...bind, port: (server.address() as net.AddressInfo).port }
}

/**
 * Stops `server` listening and, for a Unix socket, removes its file — unless `keepSocketFile`
 * (a new master serves the same socket now). Resolves once its connections are gone.
 */
export const closeListener = (server: net.Server, { keepSocketFile = false } = {}): Promise<void> => {
  // net.Server's close, also for an http.Server: node:http's own close also cuts every
  // connection without a request in progress, a connection accepted a moment ago whose request
  // has not arrived yet included. When the socket passes to a new master (USR2), such a client
  // would be cut rather than answered; the caller closes idle connections itself, later.
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()))
  releaseSocketFile(server, keepSocketFile)
  return closed
}

/** Removes the socket file at `path`, if a socket file is what is there. */
export const removeSocketFile = (path: string): void => {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path)
  } catch {}
}

/** The descriptor of a listening server, to pass to a child process. */
export const listenerFd = (server: net.Server): number => {
  // Node has no public accessor for it; spawn() takes a descriptor, not a net.Server.
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd
  if (typeof fd !== 'number' || fd < 0) throw new ListenError('this listener has no descriptor to hand over')
  return fd
}
