/**
 * The acceptor: binds the listeners in the master and hands each connection to the
 * least-loaded ready worker of the current generation. A connection that arrives while no
 * worker is ready waits here (bounded); past the bound it is answered 503 and closed, never
 * dropped silently.
 */
import { chmodSync, closeSync } from 'node:fs'
import net from 'node:net'
import { warningLine } from '../runtime/warnings.ts'
import {
  adopt,
  type BindAddress,
  claimSocketFile,
  closeListener,
  formatBind,
  listen,
  listenerFd,
  removeSocketFile,
} from '../transports/http/listen.ts'
import {
  DescriptorCopier,
  handleOf,
  type NativeHandle,
  SharedTcpSocket,
  SharedUnixSocket,
} from '../transports/http/shared-socket.ts'
import { type Balancer, leastLoaded } from './balance.ts'

export interface WorkerSlot {
  readonly path: string
  readonly generation: number
  /** The worker takes connections (ready, not draining). */
  readonly ready: boolean
  /** Open connections handed to it, as far as the master knows. */
  readonly load: number
  /**
   * Moves the socket to the worker; throws if refused. `bound`: the listener it came in on (a
   * unix: one is relayed to thread workers; an https:// one is TLS, a uwsgi one uwsgi).
   */
  hand(socket: net.Socket, bound: BindAddress): void
  /**
   * Accepts on the Unix sockets itself (thread workers): each gets its own descriptor of every
   * unix listener (`share`), so the master is not on the data path.
   */
  readonly acceptsUnix: boolean
  /**
   * Accepts on the TCP sockets itself: a connection handed over costs a crossing each (an IPC
   * round trip to a process, a transfer to a thread), a listening socket given once costs
   * nothing per connection.
   */
  readonly acceptsTcp: boolean
  /**
   * Lives in another process: it is sent the master's own handle, and IPC gives it a descriptor
   * of its own. A thread shares the master's descriptor table, so it needs a copy made for it.
   */
  readonly remote: boolean
  /** The listeners (by name) it has been given since it became ready. */
  readonly sharing: Set<string>
  /**
   * Gives it `handle` (a descriptor of `bound`) to accept on: a thread owns the descriptor from
   * now on; a process gets its own over IPC. `backlog`: the socket's (listening again on a
   * descriptor sets it anew).
   */
  share(bound: BindAddress, handle: NativeHandle, backlog: number): void
  /**
   * Stops it accepting on `bound` (the listener is going, or a newer generation takes over);
   * settles once it has (or it could not be asked), never rejects.
   */
  unshare(bound: BindAddress): Promise<void>
}

export interface AcceptorOptions {
  readonly binds: readonly BindAddress[]
  readonly backlog: number
  readonly socketMode?: number
  /** How many connections may wait for a ready worker. */
  readonly queueLimit: number
  /** How long one may wait, ms; then it is answered 503. */
  readonly queueTimeout: number
  /** The current workers, freshly read for each decision. */
  readonly workers: () => readonly WorkerSlot[]
  readonly balancer?: Balancer
  /** Receives warning lines (an accept error); the master's log. */
  readonly log?: (line: string) => void
  /** Called with each address once it listens, and once it stopped listening. */
  readonly onListen?: (address: BindAddress) => void
  readonly onUnlisten?: (address: BindAddress) => void
  /**
   * Listening sockets inherited from the master this one replaces (USR2), by the address as
   * asked for (`127.0.0.1:0`): adopted instead of bound. Those no bind wants are closed.
   */
  readonly inherited?: ReadonlyMap<string, number>
}

/** A listener as a new master inherits it: the address as asked for and as bound, and its descriptor. */
export interface HandedListener {
  readonly bind: string
  readonly address: BindAddress
  readonly fd: number
}

interface Listener {
  /**
   * Accepts in the master only while some ready worker cannot accept on the listener itself
   * (a process worker on a unix listener), or none is ready. A TCP listener is accepted on by
   * the master until workers first take it.
   */
  server: net.Server | undefined
  /** The address as asked for (`127.0.0.1:0`): its key in the acceptor and in each worker's `sharing`. */
  readonly key: string
  /** The socket the master holds without accepting on it: from the start for unix, once shared for TCP. */
  shared?: SharedUnixSocket | SharedTcpSocket | undefined
  /** A TCP listener becoming shared (the master's copy is being made). */
  sharing?: Promise<void> | undefined
  /**
   * The helper making that copy: it holds the socket too, so a close stops it at once, or the
   * port would go on queueing connections that nobody accepts and its exit then resets.
   */
  copying?: DescriptorCopier | undefined
  /** The master's accepting server on a shared listener, while it is being opened. */
  opening?: Promise<void> | undefined
  bound: BindAddress
  /** The backlog it was opened with (a reload's new one applies to addresses opened later). */
  readonly backlog: number
  accepted: number
  refused: number
}

/** One address's counts since it opened (the stats' and metrics' per-listener figures). */
export interface ListenerCounts {
  readonly address: string
  readonly backlog: number
  readonly accepted: number
  readonly refused: number
}

interface Waiting {
  readonly socket: net.Socket
  readonly listener: Listener
  readonly since: number
}

const BUSY =
  'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 34\r\n\r\nno worker is ready; try again soon\n'

export class Acceptor {
  #options: AcceptorOptions
  readonly #balance: Balancer
  /** By the address as asked for (`127.0.0.1:0`), so a reload that keeps it keeps the listener. */
  #listeners = new Map<string, Listener>()
  readonly #queue: Waiting[] = []
  #sweeper: NodeJS.Timeout | undefined
  #accepted = 0
  #refused = 0
  #acceptErrors = 0
  #generation = 0
  /** Older workers are being told to stop accepting; the newer start once they have. */
  #handover: Promise<void> | undefined
  #closed = false
  readonly #inherited: Map<string, number>
  /** Listeners adopted from inherited descriptors, and the socket files of those dropped (see takeOver). */
  readonly #adopted = new Set<net.Server | SharedUnixSocket | SharedTcpSocket>()
  /**
   * What still holds a closed listener's socket open (a worker asked to stop accepting on it, a
   * descriptor-copying helper), until stoppedAccepting() hears that it let go.
   */
  readonly #letGo = new Set<Promise<void>>()
  readonly #dropped: string[] = []

  constructor(options: AcceptorOptions) {
    this.#options = options
    this.#balance = options.balancer ?? leastLoaded()
    this.#inherited = new Map(options.inherited)
  }

  get addresses(): readonly BindAddress[] {
    return [...this.#listeners.values()].map((l) => l.bound)
  }

  /** Connections go to workers of this generation (and later ones) from now on. */
  set generation(generation: number) {
    this.#generation = generation
    this.flush()
  }

  async listen(): Promise<void> {
    try {
      await this.rebind(this.#options.binds)
    } catch (error) {
      await this.close()
      throw error
    } finally {
      // An inherited socket nobody adopts would queue connections that no one accepts.
      for (const [key, fd] of this.#inherited) {
        closeSync(fd)
        if (key.startsWith('unix:')) this.#dropped.push(key.slice('unix:'.length))
      }
      this.#inherited.clear()
    }
  }

  /**
   * A new master serves (its workers are ready): the Unix socket files it inherited are its
   * own from now on — removed on close for those it listens on, now for those it dropped.
   * Until then they stay the old master's, which keeps serving if this one fails to start.
   */
  takeOver(): void {
    for (const { server, shared, bound } of this.#listeners.values()) {
      if (shared && this.#adopted.has(shared)) shared.claimFile()
      else if (server && this.#adopted.has(server) && bound.kind === 'unix')
        claimSocketFile(server, bound.path)
    }
    this.#adopted.clear()
    // The file would only look like a server: nobody listens on that socket any more.
    for (const path of this.#dropped.splice(0)) removeSocketFile(path)
  }

  /** The listeners with their descriptors, for a new master to inherit (USR2). */
  handOver(): readonly HandedListener[] {
    return [...this.#listeners].map(([bind, { server, shared, bound }]) => ({
      bind,
      address: bound,
      fd: shared ? shared.fd : listenerFd(server!),
    }))
  }

  /**
   * A reload's new limits: the queue's apply at once, `backlog` and `socketMode` to the
   * addresses opened from now on (a listening socket's backlog is fixed), and the mode also
   * to the Unix socket files already there.
   */
  configure(limits: Pick<AcceptorOptions, 'backlog' | 'socketMode' | 'queueLimit' | 'queueTimeout'>): void {
    this.#options = { ...this.#options, ...limits }
    if (limits.socketMode === undefined) return
    for (const { bound } of this.#listeners.values())
      if (bound.kind === 'unix') chmodSync(bound.path, limits.socketMode)
  }

  /**
   * Listens on `binds` and nothing else: new addresses are bound first, and only once all of
   * them listen are the ones no longer wanted closed, so no connection finds the port shut.
   * If one cannot be bound, those just opened are closed again and the old set stays.
   */
  async rebind(binds: readonly BindAddress[]): Promise<void> {
    const wanted = new Map(binds.map((b) => [formatBind(b), b]))
    const opened = new Map<string, Listener>()
    try {
      for (const [key, bind] of wanted) {
        if (this.#listeners.has(key)) continue
        opened.set(key, await this.#open(bind))
      }
    } catch (error) {
      // Never announced as listening, so not announced as closed either.
      await Promise.all([...opened.values()].map((l) => this.#close(l, { announce: false })))
      throw error
    }
    const next = new Map<string, Listener>()
    for (const [key, bind] of wanted) {
      const listener = this.#listeners.get(key) ?? opened.get(key)!
      // A kept address takes the new settings that are per connection (PROXY protocol on or off).
      const was = listener.bound
      listener.bound = was.kind === 'tcp' && bind.kind === 'tcp' ? { ...bind, port: was.port } : bind
      // Workers accepting there themselves learn the new settings with the socket given again.
      if (JSON.stringify(was) !== JSON.stringify(listener.bound))
        for (const worker of this.#options.workers()) worker.sharing.delete(key)
      next.set(key, listener)
    }
    const gone = [...this.#listeners].filter(([key]) => !wanted.has(key)).map(([, l]) => l)
    this.#listeners = next
    for (const listener of opened.values()) this.#options.onListen?.(listener.bound)
    // Listening stops now; the close itself completes once relayed connections are gone.
    for (const listener of gone) void this.#close(listener)
    this.#share()
  }

  async #open(bind: BindAddress): Promise<Listener> {
    const { backlog } = this.#options
    if (bind.kind === 'unix') return this.#openUnix(bind)
    // noDelay as node:http's own servers have it: a response is not held back by Nagle's algorithm.
    const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) =>
      this.#onConnection(socket, listener),
    )
    const limits = {
      backlog,
      ...(this.#options.socketMode === undefined ? {} : { socketMode: this.#options.socketMode }),
    }
    const fd = this.#inherited.get(formatBind(bind))
    this.#inherited.delete(formatBind(bind))
    const bound =
      fd === undefined ? await listen(server, bind, limits) : await adopt(server, fd, bind, limits)
    if (fd !== undefined) this.#adopted.add(server)
    // Accept errors (EMFILE past the fd limit) are counted, never fatal to the master.
    server.on('error', (error) => {
      this.#acceptErrors++
      this.#options.log?.(
        warningLine('TROUPE_W_ACCEPT_ERROR', `acceptor on ${formatBind(bound)}: ${error.message}`),
      )
    })
    const listener: Listener = { server, key: formatBind(bind), bound, backlog, accepted: 0, refused: 0 }
    return listener
  }

  /** A unix listener: the master holds it; workers are given copies as they become ready (#share). */
  async #openUnix(bind: Extract<BindAddress, { kind: 'unix' }>): Promise<Listener> {
    const { backlog, socketMode } = this.#options
    const fd = this.#inherited.get(formatBind(bind))
    this.#inherited.delete(formatBind(bind))
    const shared =
      fd === undefined
        ? await SharedUnixSocket.open(bind, { backlog, ...(socketMode === undefined ? {} : { socketMode }) })
        : SharedUnixSocket.adopt(bind, fd, socketMode)
    if (fd !== undefined) this.#adopted.add(shared)
    return { server: undefined, key: formatBind(bind), shared, bound: bind, backlog, accepted: 0, refused: 0 }
  }

  #close(listener: Listener, { announce = true, keepSocketFile = false } = {}): Promise<void> {
    const { server, shared, bound, key } = listener
    listener.server = undefined
    let closed: Promise<void> = Promise.resolve()
    if (listener.copying) this.#holdsOn(listener.copying.stop())
    if (shared) {
      for (const worker of this.#options.workers())
        if (worker.sharing.delete(key)) this.#holdsOn(worker.unshare(bound))
      // The master's accepting server sits on a copy: closing it leaves the file alone.
      if (server) closed = closeListener(server, { keepSocketFile: true })
      this.#holdsOn(shared.close({ keepSocketFile }))
    } else if (server) closed = closeListener(server, { keepSocketFile })
    if (announce) this.#options.onUnlisten?.(bound)
    return closed
  }

  /**
   * Shared listeners: every ready worker of the serving generation that can accepts on the
   * socket itself (a thread on a descriptor copied for it; a process on the socket sent over
   * IPC); the master accepts only while some ready worker cannot, or, on
   * TCP, while none is ready (its connections then wait here, bounded, not in the backlog).
   * Run whenever the workers or listeners change.
   */
  #share(): void {
    if (this.#closed) return
    const all = this.#options.workers()
    const ready = all.filter((w) => w.ready && w.generation >= this.#generation)
    // Only the newest generation with a ready worker accepts: during a reload, new connections
    // go to the new workers as soon as one is ready, as the master's own handoff (least loaded)
    // would send them. An older one stops first, and the newer starts once it has, so that no
    // connection lands on the old generation after one landed on the new.
    const newest = Math.max(this.#generation, ...ready.map((w) => w.generation))
    const stopped: Promise<void>[] = []
    for (const worker of all) {
      if (worker.generation >= newest) continue
      for (const key of worker.sharing) {
        const listener = this.#listeners.get(key)
        worker.sharing.delete(key)
        if (listener) stopped.push(worker.unshare(listener.bound))
      }
    }
    if (stopped.length > 0) {
      // A handover already under way is waited for too: the newer start once every older one stopped.
      const handover: Promise<void> = Promise.all([this.#handover, ...stopped]).then(() => {
        if (this.#handover !== handover) return
        this.#handover = undefined
        this.#share()
      })
      this.#handover = handover
    }
    // Meanwhile connections wait in the backlog (or in the master, where it accepts).
    if (this.#handover) return
    const workers = ready.filter((w) => w.generation === newest)
    for (const [key, listener] of this.#listeners) {
      const { bound } = listener
      const takes = (w: WorkerSlot) => (bound.kind === 'unix' ? w.acceptsUnix : w.acceptsTcp)
      const { shared } = listener
      if (!shared) {
        if (workers.some(takes) && !listener.sharing) listener.sharing = this.#shareTcp(key, listener)
        continue
      }
      for (const worker of workers) {
        if (!takes(worker) || worker.sharing.has(key)) continue
        // Marked before the copy arrives, so the next call does not ask for a second one.
        worker.sharing.add(key)
        if (worker.remote) {
          this.#give(worker, listener, shared.handle, () => {})
          continue
        }
        shared.copy().then(
          (copy) => {
            if (!worker.sharing.has(key)) return copy.close()
            this.#give(worker, listener, copy, () => copy.close())
          },
          (error: Error) => {
            worker.sharing.delete(key)
            // Closing: the listener went away first, as asked.
            if (!this.#closed && this.#listeners.get(key) === listener)
              this.#options.log?.(warningLine('TROUPE_W_ACCEPT_ERROR', `${key}: ${error.message}`))
          },
        )
      }
      const masterAccepts = workers.some((w) => !takes(w)) || (bound.kind === 'tcp' && workers.length === 0)
      if (masterAccepts && !listener.server && !listener.opening)
        listener.opening = this.#acceptOnCopy(listener)
      else if (!masterAccepts && workers.length > 0 && listener.server) {
        void closeListener(listener.server, { keepSocketFile: true })
        listener.server = undefined
      }
    }
  }

  #give(worker: WorkerSlot, listener: Listener, handle: NativeHandle, undo: () => void): void {
    try {
      worker.share(listener.bound, handle, listener.backlog)
    } catch {
      // Gone meanwhile: a copy is still the master's to close.
      worker.sharing.delete(listener.key)
      undo()
    }
  }

  /** A TCP listener the master accepted on alone becomes shared: the master keeps a copy of its own. */
  async #shareTcp(key: string, listener: Listener): Promise<void> {
    let shared: SharedTcpSocket
    const copier = new DescriptorCopier(handleOf(listener.server!))
    listener.copying = copier
    try {
      shared = await SharedTcpSocket.of(copier)
    } catch (error) {
      // Stopped by the listener's close: nothing to say.
      if (this.#closed || this.#listeners.get(key) !== listener) return
      // The master goes on accepting and handing connections over, as before.
      this.#options.log?.(warningLine('TROUPE_W_ACCEPT_ERROR', `${key}: ${(error as Error).message}`))
      return
    } finally {
      listener.copying = undefined
    }
    // Closed meanwhile (the listener, or the acceptor).
    if (this.#closed || this.#listeners.get(key) !== listener || !listener.server) {
      this.#holdsOn(shared.close())
      return
    }
    listener.shared = shared
    listener.sharing = undefined
    this.#share()
  }

  /** The master accepts on a shared listener again (for workers that cannot), on a copy of its own. */
  async #acceptOnCopy(listener: Listener): Promise<void> {
    try {
      const copy = await listener.shared!.copy()
      const server = this.#acceptingServer(listener)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ fd: copy.fd, backlog: listener.backlog }, () => {
          server.off('error', reject)
          resolve()
        })
      })
      if (this.#closed || this.#listeners.get(listener.key) !== listener) closeListener(server)
      else listener.server = server
    } catch (error) {
      this.#options.log?.(
        warningLine('TROUPE_W_ACCEPT_ERROR', `${formatBind(listener.bound)}: ${(error as Error).message}`),
      )
    } finally {
      listener.opening = undefined
    }
    this.#share()
  }

  /** A net.Server whose connections go to the workers; accept errors are counted, never fatal. */
  #acceptingServer(listener: Listener): net.Server {
    const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) =>
      this.#onConnection(socket, listener),
    )
    server.on('error', (error) => {
      this.#acceptErrors++
      this.#options.log?.(
        warningLine('TROUPE_W_ACCEPT_ERROR', `acceptor on ${formatBind(listener.bound)}: ${error.message}`),
      )
    })
    return server
  }

  #onConnection(socket: net.Socket, listener: Listener): void {
    this.#accepted++
    listener.accepted++
    // A client that resets while it waits must not take the acceptor down.
    socket.on('error', () => {})
    const waiting = { socket, listener, since: performance.now() }
    if (this.#closed) this.#refuse(waiting)
    else if (this.#queue.length === 0 && this.#handOff(waiting)) return
    else {
      // Behind others: in line, and the line moves if a worker can take it now.
      this.#wait(waiting)
      this.flush()
    }
  }

  #wait(waiting: Waiting): void {
    if (this.#queue.length >= this.#options.queueLimit) {
      this.#refuse(waiting)
      return
    }
    this.#queue.push(waiting)
    // A paused socket never notices its client left: waiting is bounded in time too.
    this.#sweeper ??= setInterval(() => this.#sweep(), 250)
  }

  #sweep(): void {
    // A worker may be able to take connections again without a ready event (its loop was
    // only stalled for a while): try before refusing anyone.
    this.flush()
    const now = performance.now()
    while (this.#queue.length > 0 && now - this.#queue[0]!.since > this.#options.queueTimeout)
      this.#refuse(this.#queue.shift()!)
    if (this.#queue.length === 0) {
      clearInterval(this.#sweeper)
      this.#sweeper = undefined
    }
  }

  /** 503 and close: the connection is answered, never dropped in silence. */
  #refuse({ socket, listener }: Waiting): void {
    this.#refused++
    listener.refused++
    if (socket.destroyed) return
    socket.end(BUSY, () => socket.destroy())
  }

  #handOff(waiting: Waiting): boolean {
    let candidates = this.#options.workers().filter((w) => w.ready && w.generation >= this.#generation)
    // A unix connection the master took goes to a worker that does not accept there itself;
    // a thread worker would get it relayed through the master, which its own listener avoids.
    if (waiting.listener.shared) {
      const { key } = waiting.listener
      const direct = candidates.filter((w) => !w.sharing.has(key))
      if (direct.length > 0) candidates = direct
    }
    while (candidates.length > 0) {
      const worker = this.#balance(candidates)!
      try {
        worker.hand(waiting.socket, waiting.listener.bound)
        return true
      } catch {
        // Its mailbox is full or it is going away: try the next one.
        candidates.splice(candidates.indexOf(worker), 1)
      }
    }
    return false
  }

  /** Hands waiting connections to workers that became ready, and gives them the unix listeners. */
  flush(): void {
    this.#share()
    while (this.#queue.length > 0) {
      const waiting = this.#queue[0]!
      if (waiting.socket.destroyed) {
        this.#queue.shift()
        continue
      }
      if (!this.#handOff(waiting)) return
      this.#queue.shift()
    }
  }

  /**
   * Stops accepting; connections still waiting are answered 503. Unix socket files are
   * removed, unless `keepSocketFiles` (a new master inherited the sockets and serves them).
   */
  async close({ keepSocketFiles = false } = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // server.close() resolves only once its connections are gone, and the waiting ones are
    // ours to end: answer them first, then wait.
    const closed = [...this.#listeners.values()].map((l) =>
      this.#close(l, { keepSocketFile: keepSocketFiles }),
    )
    for (const waiting of this.#queue.splice(0)) this.#refuse(waiting)
    clearInterval(this.#sweeper)
    await Promise.all(closed)
  }

  /**
   * Connections a worker accepted itself on a listener it was given: counted with the listener's
   * own (its figure is every connection on that address), not in the master's `accepted`.
   */
  countAccepted(address: string, count: number): void {
    for (const listener of this.#listeners.values())
      if (formatBind(listener.bound) === address) listener.accepted += count
  }

  /**
   * Settles once nothing holds a closed listener's socket any more: every worker asked to stop
   * accepting on it has (or could not be asked), every helper that had a descriptor of it has
   * exited. A stop waits for it before any worker drains: a client that a draining worker tells
   * to close reconnects at once, and must find the port closed, not queued on a socket that
   * closes a moment later (closing resets what waits in its queue).
   */
  async stoppedAccepting(): Promise<void> {
    await Promise.all(this.#letGo)
  }

  #holdsOn(letGo: Promise<void>): void {
    this.#letGo.add(letGo)
    void letGo.finally(() => this.#letGo.delete(letGo))
  }

  /** Connections waiting for a ready worker now. */
  get queued(): number {
    return this.#queue.length
  }

  /** Each address listened on now, with its counts. */
  listenerCounts(): ListenerCounts[] {
    return [...this.#listeners.values()].map(({ bound, backlog, accepted, refused }) => ({
      address: formatBind(bound),
      backlog,
      accepted,
      refused,
    }))
  }

  info(): Record<string, unknown> {
    return {
      listeners: this.addresses.map(formatBind),
      queued: this.#queue.length,
      accepted: this.#accepted,
      refused: this.#refused,
      acceptErrors: this.#acceptErrors,
      generation: this.#generation,
    }
  }
}
