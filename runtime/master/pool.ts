/**
 * The master's worker pool, its duties named as gunicorn's arbiter names them: add a worker,
 * retire one, recycle one (replacement first), start a generation and retire the ones before
 * it, scale, kill, and watch memory. Readiness, exits and reports reach it through each
 * worker's hooks (onReady / onExit / onInfo), never through the diagnostics channels.
 */
import type { WorkerSlot } from '../../actors/acceptor.ts'
import { httpWorker } from '../../actors/http-worker/http-worker.ts'
import type { WorkerInfo } from '../../actors/http-worker/worker-protocol.ts'
import { bridge } from '../../transports/http/socket-bridge.ts'
import type { ActorCell } from '../cell.ts'
import { InvalidOptionError } from '../errors.ts'
import type { ExitReason } from '../exit.ts'
import type { Supervisor } from '../supervisor.ts'
import { actor } from '../system.ts'
import { serverChannels } from './channels.ts'
import type { ResolvedConfig } from './config.ts'
import { heartbeatMs, ms, type WorkerSetting, workerSpec } from './worker-spec.ts'

/** One worker as the pool and the acceptor see it. */
export interface PoolSlot extends WorkerSlot {
  readonly id: string
  readonly cell: ActorCell
  readonly startedAt: number
  /** As its generation's config says (a reload may change them). */
  readonly placement: ResolvedConfig['placement']
  readonly kind: ResolvedConfig['kind']
  up: boolean
  handed: number
  closed: number
  /** Connections its incarnation reported accepting itself, on every address (their sum). */
  acceptedItself: number
  /** Its incarnation's last reported `acceptedItself`, by address. */
  readonly acceptedSeen: Map<string, number>
  retiring: boolean
  /** Became ready at least once: a later ready is a restart. */
  started: boolean
  /** Set while a recycle waits for the minimum lifetime: one timer, however many reports. */
  recycleLater?: NodeJS.Timeout | undefined
}

export interface WorkerPoolOptions {
  /** The `workers` supervisor the pool's workers live under. */
  readonly supervisor: Supervisor
  /** The server's number in this process, on every event the pool publishes. */
  readonly server: number
  /**
   * A worker became ready or left: waiting connections may move now, and the acceptor may have
   * to accept again itself where the workers that did are gone.
   */
  readonly onChange: () => void
  /** Connections workers accepted themselves since their last report, by address (formatBind). */
  readonly onAccepted?: (address: string, count: number) => void
}

export class WorkerPool {
  readonly #supervisor: Supervisor
  readonly #server: number
  readonly #onChange: () => void
  readonly #onAccepted: ((address: string, count: number) => void) | undefined
  readonly #slots = new Map<string, PoolSlot>()
  readonly #recycling = new Set<PoolSlot>()
  readonly #memoryWatch: NodeJS.Timeout
  #config: ResolvedConfig
  #setting: WorkerSetting
  #generation: number
  #next = 1
  /** Recycling waits while a reload replaces the generation, and for good once stopping. */
  #paused = false
  #stopping = false

  constructor(config: ResolvedConfig, setting: WorkerSetting, options: WorkerPoolOptions) {
    this.#config = config
    this.#setting = setting
    this.#generation = 1
    this.#supervisor = options.supervisor
    this.#server = options.server
    this.#onChange = options.onChange
    this.#onAccepted = options.onAccepted
    this.#memoryWatch = setInterval(() => this.#watchMemory(), 1_000).unref()
  }

  /** The config the serving generation runs (`workers`: the live count, after scaling). */
  get config(): ResolvedConfig {
    return this.#config
  }

  /** The generation that takes new connections. */
  get generation(): number {
    return this.#generation
  }

  /** Every worker, of every generation, for the acceptor to choose from. */
  get slots(): readonly PoolSlot[] {
    return [...this.#slots.values()]
  }

  /** The worker at `path`, of any generation, while the pool has it. */
  slot(path: string): PoolSlot | undefined {
    return this.#slots.get(path)
  }

  /** The `workers` supervisor's path: every worker's path is under it. */
  get path(): string {
    return this.#supervisor.path
  }

  /** Workers of the serving generation that are not on their way out. */
  get live(): readonly PoolSlot[] {
    return this.slots.filter((s) => !s.retiring && s.generation === this.#generation)
  }

  /** Starts the first generation: `config.workers` workers, all ready, or none and the error. */
  async start(): Promise<void> {
    await this.#startAll(this.#config, this.#setting, this.#generation, this.#config.workers)
  }

  /** Adds one worker of generation `gen`; resolves when it is ready. */
  async add(config: ResolvedConfig, setting: WorkerSetting, gen: number): Promise<PoolSlot> {
    const id = `w${this.#next++}`
    const path = `${this.#supervisor.path}/${id}`
    const spec = workerSpec(config, gen, setting)
    const beat = heartbeatMs(config)
    let cell: ActorCell | undefined
    const slot: PoolSlot = {
      id,
      path,
      generation: gen,
      get cell() {
        return cell!
      },
      startedAt: Date.now(),
      placement: config.placement,
      kind: config.kind,
      up: false,
      started: false,
      // A worker whose heartbeats stopped (a handler spinning) gets no new connections while
      // its supervisor decides; they would only wait behind the blocked loop.
      // Nor one its cell knows to be dying (killed, or its thread torn down) before its exit is heard.
      get ready() {
        return this.up && this.cell.state === 'ready' && this.cell.silentMs < beat * 2 + 100
      },
      handed: 0,
      closed: 0,
      acceptedSeen: new Map(),
      acceptedItself: 0,
      retiring: false,
      acceptsUnix: config.placement === 'thread',
      // Both placements accept on TCP listeners themselves: a connection the master hands over
      // costs a crossing per socket (an IPC round trip, or a thread transfer), a listener given
      // once costs nothing per connection.
      acceptsTcp: true,
      remote: config.placement === 'process',
      sharing: new Set<string>(),
      share(bound, handle, backlog) {
        // A process is sent the handle over IPC (a descriptor of its own arrives); a thread
        // listens on the copy made for it by number, in the descriptor table it shares.
        if (config.placement === 'process')
          this.cell.tell('listen-shared', { bound, handle, backlog }, { transfer: [handle as never] })
        else this.cell.tell('listen-shared', { bound, fd: handle.fd, backlog }, undefined)
      },
      unshare(bound) {
        // Short: one that cannot answer (stuck, dying) must not hold up the generation after it.
        return this.cell.ask('unlisten-shared', { bound }, { timeout: 1_000 }).then(
          () => {},
          () => {},
        )
      },
      // Every open connection: those handed over, and those it accepted itself (its reports
      // count both in `closed`; without the second, a worker busy on its own listeners would
      // look idle, negative even, and draw every connection the master hands over).
      get load() {
        return this.handed + this.acceptedItself - this.closed
      },
      hand(socket, bound) {
        if (bound.kind === 'unix' && config.placement === 'thread') {
          // Only while a process worker serves beside it (a reload between placements):
          // thread workers otherwise accept on the unix socket themselves.
          const relay = bridge(socket)
          try {
            this.cell.tell('bridged', { port: relay.port, bound }, { transfer: [relay.port] })
          } catch (error) {
            relay.cancel()
            throw error
          }
          relay.start()
        } else this.cell.tell('connection', { socket, bound }, { transfer: [socket] })
        this.handed++
      },
    }
    const child = actor(httpWorker, {
      id,
      ...spec,
      onReady: () => this.#ready(slot, config),
      onExit: (reason) => this.#exited(slot, reason),
      onInfo: (info) => this.#report(slot, info as unknown as WorkerInfo),
    })
    this.#slots.set(path, slot)
    try {
      cell = (await this.#supervisor.add((context) => {
        cell = child.build(context) as ActorCell
        return cell
      })) as ActorCell
    } catch (error) {
      this.#slots.delete(path)
      throw error
    }
    return slot
  }

  #ready(slot: PoolSlot, config: ResolvedConfig): void {
    slot.up = !slot.retiring
    slot.handed = 0
    slot.closed = 0
    slot.acceptedSeen.clear()
    slot.acceptedItself = 0
    // A new incarnation: the descriptors of the last one closed with its thread.
    slot.sharing.clear()
    serverChannels.workerReady.publish({
      server: this.#server,
      worker: slot.id,
      path: slot.path,
      generation: slot.generation,
      placement: config.placement,
      kind: config.kind,
      restart: slot.started ? slot.cell.restartCount : 0,
    })
    slot.started = true
    this.#onChange()
  }

  /** Every exit is published: the reason, and whether a replacement follows. */
  #exited(slot: PoolSlot, reason: ExitReason): void {
    slot.up = false
    this.#onChange()
    const restarting = !(slot.retiring || this.#stopping)
    // Not yet ready: the caller of add() hears why, and no restart follows a failed first start.
    if (restarting && !slot.started) return
    serverChannels.workerExit.publish({
      server: this.#server,
      worker: slot.id,
      path: slot.path,
      generation: slot.generation,
      reason,
      restarting,
    })
  }

  #report(slot: PoolSlot, info: WorkerInfo): void {
    if (!this.#slots.has(slot.path)) return
    slot.closed = info.closed
    // Counts since the incarnation started; the listener's counter takes what is new since the last report.
    for (const [address, count] of Object.entries(info.acceptedItself ?? {})) {
      const seen = slot.acceptedSeen.get(address) ?? 0
      slot.acceptedSeen.set(address, count)
      slot.acceptedItself += count - seen
      if (count > seen) this.#onAccepted?.(address, count - seen)
    }
    if (info.recycle) void this.recycle(slot, info.recycle)
  }

  /** Takes a worker out of rotation and drains it; `why` is recorded as its exit reason. */
  async retire(slot: PoolSlot, why?: ExitReason): Promise<void> {
    slot.retiring = true
    slot.up = false
    clearTimeout(slot.recycleLater)
    await this.#supervisor.removeChild(slot.cell, why)
    this.#slots.delete(slot.path)
  }

  /** Replaces a worker gracefully: the replacement is ready before the old one stops taking connections. */
  async recycle(slot: PoolSlot, why: string): Promise<void> {
    // During a reload the old generation is being replaced anyway; a worker of the new one
    // that still wants recycling says so again in its next report.
    if (this.#recycling.has(slot) || slot.retiring || this.#stopping || this.#paused) return
    const livedMs = Date.now() - slot.startedAt
    const minimum = ms(this.#config.minLifetime)
    if (livedMs < minimum) {
      // Cleared before the retry: a timer may fire a millisecond early, and must be able to re-arm.
      slot.recycleLater ??= setTimeout(() => {
        slot.recycleLater = undefined
        void this.recycle(slot, why)
      }, minimum - livedMs).unref()
      return
    }
    this.#recycling.add(slot)
    try {
      await this.add(this.#config, this.#setting, slot.generation)
      await this.retire(slot, { kind: 'recycled', why })
      serverChannels.workerRecycle.publish({ server: this.#server, worker: slot.id, path: slot.path, why })
    } catch (error) {
      serverChannels.workerRecycle.publish({
        server: this.#server,
        worker: slot.id,
        path: slot.path,
        why,
        error: error as Error,
      })
    } finally {
      this.#recycling.delete(slot)
    }
  }

  /**
   * Starts `count` workers of the next generation under `config`; all ready, or those that
   * started are taken down again and the first error is thrown. The serving generation is
   * unchanged until `promote`.
   */
  async startGeneration(config: ResolvedConfig, setting: WorkerSetting, count: number): Promise<number> {
    const gen = this.#generation + 1
    this.#paused = true
    try {
      await this.#startAll(config, setting, gen, count)
    } catch (error) {
      this.#paused = false
      throw error
    }
    return gen
  }

  async #startAll(config: ResolvedConfig, setting: WorkerSetting, gen: number, count: number): Promise<void> {
    const started = await Promise.allSettled(
      Array.from({ length: count }, () => this.add(config, setting, gen)),
    )
    const failed = started.find((r) => r.status === 'rejected')
    if (!failed) return
    for (const r of started) if (r.status === 'fulfilled') await this.retire(r.value)
    throw failed.reason
  }

  /** Takes down a started generation that will not serve (its listeners could not follow). */
  async abandon(gen: number): Promise<void> {
    try {
      await Promise.all(this.slots.filter((s) => s.generation === gen).map((s) => this.retire(s)))
    } finally {
      this.#paused = false
    }
  }

  /** Makes `gen` the serving generation and drains every worker of the ones before it. */
  async promote(config: ResolvedConfig, setting: WorkerSetting, gen: number): Promise<void> {
    this.#generation = gen
    this.#config = config
    this.#setting = setting
    // Taken now, not before the new generation started: whatever joined meanwhile goes too.
    const old = this.slots.filter((s) => s.generation < gen && !s.retiring)
    try {
      await Promise.all(old.map((slot) => this.retire(slot)))
    } finally {
      this.#paused = false
    }
  }

  /**
   * Changes the number of serving workers. Fewer than one is refused with a line saying why
   * (TTOU at one worker): a pool of none would leave every connection waiting.
   */
  async scale(count: number): Promise<void> {
    const from = this.live.length
    if (!Number.isInteger(count) || count < 1) {
      const ignored = `at least one worker must serve (asked for ${count}; ${from} serving)`
      serverChannels.scale.publish({ server: this.#server, from, to: from, ignored })
      return
    }
    while (this.live.length < count) await this.add(this.#config, this.#setting, this.#generation)
    while (this.live.length > count) await this.retire(this.live.at(-1)!)
    this.#config = { ...this.#config, workers: count }
    serverChannels.scale.publish({ server: this.#server, from, to: count })
  }

  /**
   * Every worker opens its log files afresh (USR1, after logrotate moved them); resolves once
   * each has, with the number that did. A worker restarting meanwhile opens the path anyway.
   */
  async reopenLogs(): Promise<number> {
    return this.#askLive('reopen-logs', undefined)
  }

  /**
   * A new log level for every worker now, and for those started from now on (until a reload
   * applies the config's again). Resolves with how many live workers took it.
   */
  async setLogLevel(level: ResolvedConfig['logLevel']): Promise<number> {
    this.#config = { ...this.#config, logLevel: level }
    return this.#askLive('log-level', { level })
  }

  /** Asks every live worker the same; resolves with how many answered. */
  async #askLive(type: string, payload: unknown): Promise<number> {
    const asked = this.slots
      .filter((slot) => slot.up)
      .map((slot) => slot.cell.ask(type, payload, { timeout: 5_000 }))
    const answers = await Promise.allSettled(asked)
    return answers.filter((a) => a.status === 'fulfilled').length
  }

  /** Kills one worker now (SIGKILL / terminate()); its supervisor replaces it. */
  kill(workerId: string): void {
    const slot = this.#slots.get(`${this.#supervisor.path}/${workerId}`)
    if (!slot) throw new InvalidOptionError(`no worker ${workerId}`)
    slot.cell.kill({ kind: 'killed', signal: 'SIGKILL' })
  }

  /** Process RSS limits: over the soft one a worker is recycled gracefully, over the hard one killed. */
  #watchMemory(): void {
    const { placement, memory, memorySoft } = this.#config
    if (placement !== 'process' || (memory === 0 && memorySoft === 0)) return
    for (const slot of this.#slots.values()) {
      const mb = (slot.cell.tree().memory?.rss ?? 0) / 1024 / 1024
      if (memory > 0 && mb > memory)
        slot.cell.kill({ kind: 'memory', detail: `RSS ${mb.toFixed(0)} MB over the ${memory} MB limit` })
      else if (memorySoft > 0 && mb > memorySoft) void this.recycle(slot, `RSS over ${memorySoft} MB`)
    }
  }

  /** No more recycling or memory checks: the supervisor is about to stop every worker. */
  stopping(): void {
    this.#stopping = true
    clearInterval(this.#memoryWatch)
    for (const slot of this.#slots.values()) clearTimeout(slot.recycleLater)
  }
}
