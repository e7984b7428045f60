/**
 * The master: serves nothing itself. It checks the app, starts the actor system with the
 * app's actors, the acceptor and a pool of HTTP workers, and steers them: reload (a new
 * generation ready before the old one drains), scale, recycle, stop.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { pathToFileURL } from 'node:url'
import { Acceptor, type WorkerSlot } from '../../actors/acceptor.ts'
import { type HttpWorkerArgs, httpWorker } from '../../actors/http-worker/http-worker.ts'
import type { WorkerInfo } from '../../actors/http-worker/worker-protocol.ts'
import { assertKindFits, loadApp, normalizeActors, type ResolvedApp } from '../../apps/app.ts'
import { type BindAddress, formatBind, listen, parseBind } from '../../transports/http/listen.ts'
import { bridge } from '../../transports/http/socket-bridge.ts'
import type { ActorCell } from '../cell.ts'
import type { ReadyEvent } from '../channels.ts'
import { ConfigError, InvalidOptionError, PlacementUnsupportedError } from '../errors.ts'
import type { ExitReason } from '../exit.ts'
import { Supervisor } from '../supervisor.ts'
import { type ActorSystem, actor, createSystem, supervisor } from '../system.ts'
import type { TreeNode } from '../tree.ts'
import type { ResolvedConfig } from './config.ts'

export interface ServeOptions {
  /** Directory the app path is relative to. */
  readonly cwd?: string
  /** Called when the root supervisor gives up (default: exit 1). */
  readonly onFailure?: (reason: ExitReason) => void
  /** Receives one line per notable event (worker up, reload done…). */
  readonly log?: (line: string) => void
}

export interface Server {
  readonly addresses: readonly string[]
  readonly system: ActorSystem
  readonly config: ResolvedConfig
  readonly generation: number
  /** Starts a new generation (new code; new config if given), routes to it once ready, drains the old. */
  reload(config?: ResolvedConfig): Promise<void>
  /** Changes the number of workers live. */
  scale(workers: number): Promise<void>
  /** Kills one worker now (SIGKILL / terminate()); its supervisor replaces it. */
  kill(workerId: string): void
  /** Graceful: stop accepting, drain within gracefulTimeout. Fast (`graceful: false`): cut connections. */
  stop(options?: { readonly graceful?: boolean }): Promise<void>
  tree(): TreeNode
}

/** Socket transfer to worker threads arrived in Node 26.6. */
export const threadHandoffSupported = (version = process.versions.node): boolean => {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 26 || (major === 26 && minor >= 6)
}

/** Everything that can be refused before a worker starts: one list for `serve`, HUP and `check`. */
export const checkServable = (config: ResolvedConfig, app: ResolvedApp): void => {
  assertKindFits(app, config.kind)
  if (config.strategy === 'handoff' && config.placement === 'thread' && !threadHandoffSupported())
    throw new PlacementUnsupportedError(
      `--strategy handoff with --placement thread needs Node >= 26.6 (this is ${process.version}); use --placement process, or --strategy reuseport`,
    )
  if (config.strategy === 'reuseport') {
    if (process.platform !== 'linux')
      throw new PlacementUnsupportedError(`--strategy reuseport needs Linux; use --strategy handoff`)
    const unix = config.bind.find((b) => b.startsWith('unix:'))
    if (unix)
      throw new PlacementUnsupportedError(
        `--strategy reuseport cannot share ${unix} (SO_REUSEPORT is for TCP); use --strategy handoff for Unix sockets`,
      )
  }
}

const ms = (seconds: number) => Math.round(seconds * 1000)

/** The app's own actors and those the config registers; one name, one actor. */
const appActors = (app: ResolvedApp, config: ResolvedConfig): ResolvedApp['actors'] => {
  const all = [...app.actors, ...normalizeActors(config.actors)]
  const seen = new Set<string>()
  for (const { definition } of all) {
    if (seen.has(definition.name))
      throw new ConfigError(
        `actors: two app actors are named "${definition.name}" (app ${app.name} and its config)`,
      )
    seen.add(definition.name)
  }
  return all
}

/** Linux >= 5.14 can move a closing listener's queued connections to its reuseport siblings. */
const migratesQueuedConnections = (): boolean => {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim() === '1'
  } catch {
    return false
  }
}

const concretePort = async (bind: BindAddress): Promise<BindAddress> => {
  if (bind.kind !== 'tcp' || bind.port !== 0) return bind
  const probe = net.createServer()
  const bound = await listen(probe, bind, { backlog: 1, reusePort: true })
  await new Promise((resolve) => probe.close(resolve))
  return bound
}

interface Slot extends WorkerSlot {
  readonly cell: ActorCell
  readonly startedAt: number
  up: boolean
  handed: number
  closed: number
  retiring: boolean
  /** Set while a recycle waits for the minimum lifetime: one timer, however many reports. */
  recycleLater?: NodeJS.Timeout
}

export const startServer = async (config: ResolvedConfig, options: ServeOptions = {}): Promise<Server> => {
  const log = options.log ?? (() => {})
  const appUrl = (app: string) =>
    pathToFileURL(new URL(app, pathToFileURL(`${options.cwd ?? process.cwd()}/`)).pathname).href
  let current = config
  let app = await loadApp(appUrl(current.app))
  checkServable(current, app)
  let binds = current.bind.map((b, i) => parseBind(b, `bind[${i}]`))
  // With reuseport every worker binds the same port itself: port 0 has to become one real
  // port first, or each worker would get a different one.
  if (current.strategy === 'reuseport') {
    binds = await Promise.all(binds.map(concretePort))
    if (!migratesQueuedConnections())
      log(
        'reuseport: net.ipv4.tcp_migrate_req is 0, so connections queued on a worker that stops listening ' +
          '(reload, recycle, scale down) are reset; set it to 1 (sysctl) for reloads that drop nothing',
      )
  }

  const system = await createSystem({
    name: 'troupe',
    // The master's own children (acceptor side, app actors, the pool) give up only after many restarts.
    intensity: Math.max(10, current.workers * 3),
    period: 60_000,
    ...(options.onFailure ? { onFailure: options.onFailure } : {}),
  })
  try {
    await system.start(
      supervisor({
        id: 'actors',
        children: appActors(app, current).map(({ definition, options: actorOptions }) =>
          actor(definition, { placement: 'thread', ...actorOptions, id: definition.name }),
        ),
      }),
    )
  } catch (error) {
    await system.stop()
    throw error
  }

  const slots = new Map<string, Slot>()
  let generation = 1
  const acceptor =
    current.strategy === 'handoff'
      ? new Acceptor({
          binds,
          backlog: current.backlog,
          socketMode: current.socketMode,
          queueLimit: current.acceptQueue,
          queueTimeout: ms(current.timeout),
          workers: () => [...slots.values()],
        })
      : undefined
  if (acceptor) {
    try {
      await acceptor.listen()
    } catch (error) {
      await system.stop()
      throw error
    }
  }

  let pool: Supervisor | undefined
  await system.start({
    id: 'workers',
    build: (context) => {
      pool = new Supervisor(
        'workers',
        { strategy: 'one_for_one', intensity: Math.max(5, current.workers * 2), period: 30_000 },
        context,
        'pool',
      )
      return pool
    },
  })
  const workers = pool!

  const onReady = (event: ReadyEvent) => {
    const slot = slots.get(event.path)
    if (!slot) return
    slot.up = !slot.retiring
    slot.handed = 0
    slot.closed = 0
    acceptor?.flush()
  }

  let next = 1
  const argsFor = (cfg: ResolvedConfig, gen: number): HttpWorkerArgs => ({
    app: appUrl(cfg.app),
    kind: cfg.kind,
    threads: cfg.threads,
    threadQueue: cfg.threadQueue > 0 ? cfg.threadQueue : cfg.threads * 16,
    connections: cfg.connections,
    timeoutMs: ms(cfg.timeout),
    keepAliveMs: ms(cfg.keepAlive),
    headersTimeoutMs: ms(cfg.headersTimeout),
    maxHeaderSize: cfg.maxHeaderSize,
    maxHeaders: cfg.maxHeaders,
    maxBodySize: cfg.maxBodySize,
    maxRequests:
      cfg.maxRequests > 0 ? cfg.maxRequests + Math.floor(Math.random() * (cfg.maxRequestsJitter + 1)) : 0,
    drainIdleMs: Math.min(1_000, ms(cfg.keepAlive)),
    generation: gen,
    actorsPath: `/${system.name}/actors`,
    gracefulMs: ms(cfg.gracefulTimeout),
    ...(cfg.strategy === 'reuseport' ? { reuseport: { binds, backlog: cfg.backlog } } : {}),
  })

  /** Adds one worker of generation `gen`; resolves when it is ready. */
  const addWorker = async (cfg: ResolvedConfig, gen: number): Promise<Slot> => {
    const id = `w${next++}`
    const heartbeatMs = Math.min(1_000, ms(cfg.timeout) / 4)
    let cell: ActorCell | undefined
    const spec = actor(httpWorker, {
      id,
      placement: cfg.placement,
      args: argsFor(cfg, gen),
      // Drain time plus room to run teardown before the forced path.
      shutdownTimeout: ms(cfg.gracefulTimeout) + 2_000,
      heartbeatInterval: heartbeatMs,
      heartbeatTimeout: ms(cfg.timeout),
      mailbox: 100_000,
      ...(cfg.placement === 'thread' && cfg.memory > 0
        ? { resourceLimits: { maxOldGenerationSizeMb: cfg.memory } }
        : {}),
      onReady,
      onExit: () => {
        const slot = slots.get(`${workers.path}/${id}`)
        if (slot) slot.up = false
      },
      onInfo: (info) => {
        const slot = slots.get(`${workers.path}/${id}`)
        if (!slot) return
        const w = info as unknown as WorkerInfo
        slot.closed = w.closed
        if (w.recycle) void recycle(slot, w.recycle)
      },
    })
    const slot: Slot = {
      path: `${workers.path}/${id}`,
      generation: gen,
      get cell() {
        return cell!
      },
      startedAt: Date.now(),
      up: false,
      // A worker whose heartbeats stopped (a handler spinning) gets no new connections while
      // its supervisor decides; they would only wait behind the blocked loop.
      get ready() {
        return this.up && this.cell.silentMs < heartbeatMs * 2 + 100
      },
      handed: 0,
      closed: 0,
      retiring: false,
      get load() {
        return this.handed - this.closed
      },
      hand(socket, unix) {
        if (unix && cfg.placement === 'thread') {
          const relay = bridge(socket)
          try {
            this.cell.tell('bridged', { port: relay.port }, { transfer: [relay.port] })
          } catch (error) {
            relay.cancel()
            throw error
          }
          relay.start()
        } else this.cell.tell('connection', { socket }, { transfer: [socket] })
        this.handed++
      },
    }
    slots.set(slot.path, slot)
    try {
      cell = (await workers.add((context) => {
        cell = spec.build(context) as ActorCell
        return cell
      })) as ActorCell
    } catch (error) {
      slots.delete(slot.path)
      throw error
    }
    log(`worker ${id} ready (generation ${gen}, ${cfg.placement}, ${cfg.kind})`)
    return slot
  }

  /** Takes a worker out of rotation and drains it; `why` is recorded as its exit reason. */
  const retire = async (slot: Slot, why?: ExitReason): Promise<void> => {
    slot.retiring = true
    slot.up = false
    await workers.removeChild(slot.cell, why)
    slots.delete(slot.path)
  }

  let stopping = false
  let stopped: Promise<void> | undefined
  let reloading: Promise<void> | undefined
  const recycling = new Set<Slot>()
  const recycle = async (slot: Slot, why: string): Promise<void> => {
    // During a reload the old generation is being replaced anyway; a worker of the new one
    // that still wants recycling says so again in its next report.
    if (recycling.has(slot) || slot.retiring || stopping || reloading) return
    const livedMs = Date.now() - slot.startedAt
    if (livedMs < ms(current.minLifetime)) {
      if (!slot.recycleLater)
        slot.recycleLater = setTimeout(
          () => void recycle(slot, why),
          ms(current.minLifetime) - livedMs,
        ).unref()
      return
    }
    recycling.add(slot)
    try {
      // The replacement is ready before the old one stops taking connections: no gap.
      await addWorker(current, slot.generation)
      await retire(slot, { kind: 'recycled', why })
      log(`worker ${slot.path} recycled (${why})`)
    } catch (error) {
      log(`recycling ${slot.path} failed: ${(error as Error).message}`)
    } finally {
      recycling.delete(slot)
    }
  }

  // Process RSS limits: soft recycles gracefully, hard kills (exit reason memory).
  const memoryWatch = setInterval(() => {
    if (current.placement !== 'process' || (current.memory === 0 && current.memorySoft === 0)) return
    for (const slot of slots.values()) {
      const rss = slot.cell.tree().memory?.rss ?? 0
      const mb = rss / 1024 / 1024
      if (current.memory > 0 && mb > current.memory)
        slot.cell.kill({
          kind: 'memory',
          detail: `RSS ${mb.toFixed(0)} MB over the ${current.memory} MB limit`,
        })
      else if (current.memorySoft > 0 && mb > current.memorySoft)
        void recycle(slot, `RSS over ${current.memorySoft} MB`)
    }
  }, 1_000)
  memoryWatch.unref()

  const cleanup = async () => {
    clearInterval(memoryWatch)
  }

  try {
    await Promise.all(Array.from({ length: current.workers }, () => addWorker(current, generation)))
  } catch (error) {
    await acceptor?.close()
    await cleanup()
    await system.stop()
    throw error
  }
  if (acceptor) acceptor.generation = generation

  const server: Server = {
    get addresses() {
      return acceptor ? acceptor.addresses.map(formatBind) : binds.map(formatBind)
    },
    system,
    get config() {
      return current
    },
    get generation() {
      return generation
    },
    reload(config) {
      reloading ??= (async () => {
        const cfg = config ?? current
        const nextApp = await loadApp(`${appUrl(cfg.app)}?generation=${generation + 1}`)
        checkServable(cfg, nextApp)
        const gen = generation + 1
        const fresh = await Promise.allSettled(Array.from({ length: cfg.workers }, () => addWorker(cfg, gen)))
        const failed = fresh.find((r) => r.status === 'rejected')
        if (failed) {
          // The old generation keeps serving; the new one is taken down again.
          for (const r of fresh) if (r.status === 'fulfilled') await retire(r.value)
          throw (failed as PromiseRejectedResult).reason
        }
        generation = gen
        current = cfg
        app = nextApp
        if (acceptor) acceptor.generation = gen
        // Taken now, not before the new generation started: whatever joined meanwhile goes too.
        const old = [...slots.values()].filter((s) => s.generation < gen && !s.retiring)
        await Promise.all(old.map((slot) => retire(slot)))
        log(`reloaded: generation ${gen}, ${cfg.workers} workers`)
      })().finally(() => {
        reloading = undefined
      })
      return reloading
    },
    async scale(count) {
      await reloading?.catch(() => {})
      const live = () => [...slots.values()].filter((s) => !s.retiring && s.generation === generation)
      while (live().length < count) await addWorker(current, generation)
      while (live().length > count && live().length > 0) await retire(live().at(-1)!)
      current = { ...current, workers: count }
      log(`scaled to ${count} workers`)
    },
    kill(workerId) {
      const slot = slots.get(`${workers.path}/${workerId}`)
      if (!slot) throw new InvalidOptionError(`no worker ${workerId}`)
      slot.cell.kill({ kind: 'killed', signal: 'SIGKILL' })
    },
    stop(stopOptions = {}) {
      // A fast stop asked for during a graceful one cuts it short, and both end together.
      if (stopOptions.graceful === false) void workers.stop(undefined, true)
      stopped ??= (async () => {
        stopping = true
        // Listening stops now; the listeners' close completes once relayed (Unix, thread)
        // connections are gone, which is after the workers drained them.
        const closing = acceptor?.close()
        await reloading?.catch(() => {})
        await system.stop()
        // Bounded: a listener whose last relayed connection lingers must not hold the exit.
        await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
        await cleanup()
      })()
      return stopped
    },
    tree() {
      const tree = system.tree()
      const acceptorNode: TreeNode = {
        path: `/${system.name}/acceptor`,
        name: 'acceptor',
        kind: 'actor',
        state: stopping ? 'stopped' : 'ready',
        startedAt: null,
        restarts: 0,
        lastExit: null,
        placement: 'local',
        pid: process.pid,
        threadId: null,
        info: { strategy: current.strategy, ...(acceptor?.info() ?? { listeners: binds.map(formatBind) }) },
      }
      return { ...tree, children: [acceptorNode, ...(tree.children ?? [])] }
    },
  }
  return server
}
