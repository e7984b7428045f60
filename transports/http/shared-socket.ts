/**
 * A listening Unix socket that worker threads accept on themselves, so the master is not on
 * the data path. Node 26 cannot move a Unix-domain handle to a thread, but threads share the
 * process's descriptor table: a thread can listen on a descriptor by number. Two rules make
 * that sound:
 * - the master holds the socket without accepting on it (a descriptor with no libuv watcher
 *   on it), so every connection is accepted by a worker;
 * - each thread gets its own copy of the descriptor, because a thread that closes its listener
 *   (drain, exit, crash) closes that descriptor for the whole process. A copy costs a round
 *   trip through a short-lived helper process: a descriptor sent over IPC (SCM_RIGHTS) arrives
 *   as a new descriptor for the same socket, and Node has no dup() of its own.
 * The socket lives as long as any copy is open; the master's copy keeps it through reloads,
 * scaling and restarts, when no worker may be listening for a moment (connections then wait in
 * the backlog, as they would for gunicorn's workers).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, linkSync, renameSync } from 'node:fs'
import net from 'node:net'
import { ListenError } from '../../runtime/errors.ts'
import { type BindAddress, claimSocketFile, formatBind, listen, releaseSocketFile } from './listen.ts'

/** A libuv handle as Node's IPC sends and receives it ('net.Native'). */
export interface NativeHandle {
  readonly fd: number
  close(): void
}

/**
 * Echoes the descriptor it was sent, once per request: each echo reaches the master as a new
 * descriptor. Requests are answered one at a time, as Node's IPC sends one handle per ack.
 */
const ECHO = `process.title='troupe: descriptor copier';let h;process.on('message',(m,handle)=>{h??=handle;process.send(0,h,{keepOpen:true})})`

/** How long the helper stays after its last copy, ms: the copies a reload asks for come in a burst. */
const LINGER_MS = 1_000

/** Makes copies of one handle's descriptor through a helper process started on demand. */
export class DescriptorCopier {
  /** What a newly started helper is sent to copy. */
  source: NativeHandle
  #child: ChildProcess | undefined
  #waiting: Array<{ resolve(handle: NativeHandle): void; reject(error: Error): void }> = []
  #idle: NodeJS.Timeout | undefined
  /** The helper that has the handle already. */
  #sentTo: ChildProcess | undefined
  /** Settles once the last helper started has exited (it holds the socket until then). */
  #exited: Promise<void> = Promise.resolve()
  /**
   * The handles the copies arrived in. Never closed here: each descriptor belongs to the
   * thread it was given to, which closes it. Held, so nothing of the master's ever does.
   */
  readonly #received: NativeHandle[] = []

  constructor(source: NativeHandle) {
    this.source = source
  }

  copy(): Promise<NativeHandle> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject })
      clearTimeout(this.#idle)
      if (!this.#child) this.#start()
      else if (this.#waiting.length === 1) this.#ask()
    })
  }

  #start(): void {
    // Without NODE_OPTIONS: an --inspect or a loader meant for the server has no business here.
    const { NODE_OPTIONS: _, ...env } = process.env
    const child = spawn(process.execPath, ['-e', ECHO], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env,
    })
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('close', () => resolve()))
    child.on('message', (_message, handle: NativeHandle | undefined) => {
      // A copy from a helper already stopped (its listener closed while the copy was on its
      // way) has no one waiting for it: left open, it would keep the port accepting connections
      // into a queue nobody reads, long after the server stopped.
      if (this.#child !== child) {
        handle?.close()
        return
      }
      const next = this.#waiting.shift()
      if (handle) this.#received.push(handle)
      if (next && handle) next.resolve(handle)
      else next?.reject(new ListenError('the descriptor copy arrived without a descriptor'))
      if (this.#waiting.length > 0) this.#ask()
      else this.#idle = setTimeout(() => this.stop(), LINGER_MS).unref()
    })
    const fail = (why: string) => {
      if (this.#child !== child) return
      this.#child = undefined
      for (const waiter of this.#waiting.splice(0))
        waiter.reject(new ListenError(`could not copy a listening socket's descriptor: ${why}`))
    }
    child.on('error', (error) => fail(error.message))
    child.on('exit', (code, signal) => fail(`its helper exited (${signal ?? code})`))
    this.#ask()
  }

  #ask(): void {
    // The first request carries the handle; the helper keeps it for the rest (a handle per
    // request would wait each time for the helper's acknowledgement of the last one).
    const child = this.#child
    if (!child) return
    if (this.#sentTo === child) child.send(0)
    else {
      this.#sentTo = child
      child.send(0, this.source as never, { keepOpen: true })
    }
  }

  /**
   * Ends the helper; copies still awaited fail (their listener is closing). Settles once it has
   * exited: until then it holds the socket, which stays open to connections nobody will accept.
   */
  stop(): Promise<void> {
    clearTimeout(this.#idle)
    const child = this.#child
    this.#child = undefined
    child?.kill()
    for (const waiter of this.#waiting.splice(0))
      waiter.reject(new ListenError('the socket closed before its descriptor was copied'))
    return this.#exited
  }
}

/** The libuv handle under a net.Server or net.Socket. */
export const handleOf = (holder: net.Socket | net.Server): NativeHandle => {
  const handle = (holder as unknown as { _handle?: NativeHandle })._handle
  if (!handle) throw new ListenError('this socket has no descriptor to share')
  return handle
}

export class SharedUnixSocket {
  readonly bound: Extract<BindAddress, { kind: 'unix' }>
  /** The master's copy: opened as a socket that never reads, so libuv never accepts on it. */
  readonly #keeper: NativeHandle
  readonly #copier: DescriptorCopier
  #closed = false

  private constructor(
    bound: Extract<BindAddress, { kind: 'unix' }>,
    keeper: NativeHandle,
    copier = new DescriptorCopier(keeper),
  ) {
    this.bound = bound
    this.#keeper = keeper
    // A helper already running (open's) goes on copying; one started later copies the keeper.
    copier.source = keeper
    this.#copier = copier
  }

  /**
   * Binds `bind` (under a private name, as `listen` does), makes the master's own copy, and
   * only then puts the socket at its path and closes the net.Server that bound it — in one
   * synchronous step, so that server never accepts a connection meant for the workers.
   */
  static async open(
    bind: Extract<BindAddress, { kind: 'unix' }>,
    options: { readonly backlog: number; readonly socketMode?: number },
  ): Promise<SharedUnixSocket> {
    const binder = net.createServer()
    const privatePath = ((await listen(binder, bind, { ...options, deferRename: true })) as typeof bind).path
    const copier = new DescriptorCopier(handleOf(binder))
    let keeper: NativeHandle
    try {
      keeper = await copier.copy()
    } catch (error) {
      void copier.stop()
      net.Server.prototype.close.call(binder)
      throw error
    }
    if (privatePath !== bind.path) {
      renameSync(privatePath, bind.path)
      // libuv unlinks the name it bound on close: the private one, renamed away just now.
      net.Server.prototype.close.call(binder)
    } else {
      // Bound at the path itself (no private name fits beside it): the file survives libuv's
      // unlink on close as a second link (link(2) has no 108-byte limit), put back after.
      const kept = `${bind.path}.${process.pid}.kept`
      linkSync(bind.path, kept)
      net.Server.prototype.close.call(binder)
      renameSync(kept, bind.path)
    }
    const shared = new SharedUnixSocket(bind, keeper, copier)
    shared.claimFile()
    return shared
  }

  /** A socket inherited from the master this one replaces (USR2): its descriptor is the keeper. */
  static adopt(
    bind: Extract<BindAddress, { kind: 'unix' }>,
    fd: number,
    socketMode?: number,
  ): SharedUnixSocket {
    if (socketMode !== undefined) chmodSync(bind.path, socketMode)
    // A socket that never reads: libuv keeps no watcher on it, so it never accepts.
    const holder = new net.Socket({ fd, readable: false, writable: false })
    return new SharedUnixSocket(bind, handleOf(holder))
  }

  /** The file at the path is this master's from now on (see Acceptor.takeOver). */
  claimFile(): void {
    claimSocketFile(this, this.bound.path)
  }

  /** The master's descriptor, for a new master to inherit. */
  get fd(): number {
    return this.#keeper.fd
  }

  /** The master's copy itself (never accepted on). */
  get handle(): NativeHandle {
    return this.#keeper
  }

  /**
   * A new descriptor for the socket, for one worker thread to listen on (`fd`): the thread owns
   * it and closes it with its listener (or its exit). `close()` it only if no thread took it.
   */
  copy(): Promise<NativeHandle> {
    if (this.#closed) return Promise.reject(new ListenError(`${formatBind(this.bound)} is closed`))
    return this.#copier.copy()
  }

  /**
   * Closes the master's copy and removes the file, unless `keepSocketFile` (a new master serves
   * it). Settles once no helper of its holds the socket either.
   */
  close({ keepSocketFile = false } = {}): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    const released = this.#copier.stop()
    // The file first: a client must not find the path and then a socket nobody will accept on.
    releaseSocketFile(this, keepSocketFile)
    this.#keeper.close()
    return released
  }
}

/**
 * A TCP listener that process workers accept on themselves, as gunicorn's workers do: a
 * connection handed over IPC costs a round trip per socket (Node sends one handle per
 * acknowledgement), which capped a process pool below node:cluster on short connections.
 * Each process gets the socket over IPC, which gives it a descriptor of its own; the master
 * keeps a copy it never accepts on, so the port stays open while no worker listens (a
 * restart), and so it can accept again itself when no worker can.
 */
export class SharedTcpSocket {
  readonly #keeper: NativeHandle
  readonly #copier: DescriptorCopier
  #closed = false

  private constructor(keeper: NativeHandle, copier: DescriptorCopier) {
    this.#keeper = keeper
    copier.source = keeper
    this.#copier = copier
  }

  /**
   * The master's copy of a listening socket, made by `copier` (of the server's handle: the
   * caller keeps it, to stop it should the listener close first); the server may be closed once
   * the workers listen.
   */
  static async of(copier: DescriptorCopier): Promise<SharedTcpSocket> {
    try {
      return new SharedTcpSocket(await copier.copy(), copier)
    } finally {
      // No helper lingers as a child of the master: the thread workers' copies start one afresh.
      void copier.stop()
    }
  }

  get fd(): number {
    return this.#keeper.fd
  }

  /** The master's copy, to send over IPC: each receiving process gets a descriptor of its own. */
  get handle(): NativeHandle {
    return this.#keeper
  }

  /** A new descriptor for the master to accept on again (`listen({ fd })`). */
  copy(): Promise<NativeHandle> {
    if (this.#closed) return Promise.reject(new ListenError('this TCP listener is closed'))
    return this.#copier.copy()
  }

  /** Nothing on disk to claim: for the acceptor's sake, which treats its shared sockets alike. */
  claimFile(): void {}

  /** Closes the master's copy; settles once no helper of its holds the socket either. */
  close(_options: { keepSocketFile?: boolean } = {}): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    const released = this.#copier.stop()
    this.#keeper.close()
    return released
  }
}
