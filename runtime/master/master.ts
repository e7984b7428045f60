/**
 * The master: serves nothing itself. It composes the parts — preflight checks, the actor
 * system with the app's actors, the acceptor (handoff) and the worker pool — and is the
 * `Server` facade operators steer: reload (a new generation ready before the old one
 * drains), scale, kill, stop, tree.
 */
import { closeSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { pathToFileURL } from 'node:url'
import { Acceptor, type HandedListener } from '../../actors/acceptor.ts'
import { loadApp, normalizeActors, type ResolvedApp } from '../../apps/app.ts'
import {
  type BindAddress,
  formatBind,
  listen,
  parseBind,
  parseListenAddress,
  parseUwsgiAddress,
} from '../../transports/http/listen.ts'
import { ConfigError, InvalidOptionError, SystemStoppedError } from '../errors.ts'
import type { ExitReason } from '../exit.ts'
import { Supervisor } from '../supervisor.ts'
import { type ActorSystem, actor, createSystem, supervisor } from '../system.ts'
import type { TreeNode } from '../tree.ts'
import { warningLine } from '../warnings.ts'
import { serverChannels } from './channels.ts'
import type { ResolvedConfig } from './config.ts'
import type { ControlApi, InstanceInfo, Stats } from './control/api.ts'
import { controlApi, type MasterOps } from './control/control-api.ts'
import { subscribeLifecycleLog } from './lifecycle-log.ts'
import { entry, type LogEntry, type Logger, send, warningEntry } from './log.ts'
import type { AdminListener } from './observe/admin.ts'
import { Book, serverScope } from './observe/book.ts'
import type { Feed } from './observe/dashboard/feed.ts'
import { appActors as appActorNodes, instanceInfo, isReady, type Observed, stats } from './observe/stats.ts'
import { WorkerPool } from './pool.ts'
import { preflight, preflightApp, preflightReload } from './preflight.ts'
import { ms, type WorkerSetting } from './worker-spec.ts'

export { threadHandoffSupported } from './preflight.ts'

export interface ServeOptions {
  /** Directory the app path is relative to. */
  readonly cwd?: string
  /** Called when the root supervisor gives up (default: exit 1). */
  readonly onFailure?: (reason: ExitReason) => void
  /** Receives one line per notable event (worker up, worker exit, reload done, warnings…), debug ones too. */
  readonly log?: (line: string) => void
  /** The control socket's path, when the caller serves one: `info().control`. */
  readonly controlPath?: string | null
  /**
   * Receives the same as records: a pino-compatible logger (`pino()`, a child, your own),
   * called as `logger.info({ event, worker?, code? }, line)`. It filters by its own level.
   */
  readonly logger?: Logger
  /**
   * The log format workers write their own lines in (an app error, a warning); the command
   * line passes the format it settled on. Default: text.
   */
  readonly logFormat?: 'text' | 'json'
  /**
   * The listeners of the master this one replaces (USR2): adopted (handoff) or bound at the
   * same ports (reuseport) where a bind asks for the same address.
   */
  readonly inherit?: readonly InheritedListener[]
  /**
   * What the control API's reload, stop and log level do beyond this server: the command line
   * re-reads its config file on reload and exits on stop. Default: reload with the loaded
   * config, stop this server.
   */
  readonly operations?: MasterOps
}

/** A listener of a master being replaced, as the new master receives it. */
export interface InheritedListener {
  /** The address as asked for (`127.0.0.1:0`). */
  readonly bind: string
  /** The address as bound (`127.0.0.1:41234`). */
  readonly address: string
  /** Its listening socket's descriptor in the new master; none under reuseport (the workers bind their own). */
  readonly fd?: number
  /** `admin`: the admin listener (the dashboard, metrics, probes), not one of the app's. */
  readonly role?: 'admin'
}

/** A listener as the master hands it to its successor: a descriptor under handoff, only the address under reuseport. */
export type HandOver = Omit<HandedListener, 'fd'> & { readonly fd?: number; readonly role?: 'admin' }

export interface Server {
  readonly addresses: readonly string[]
  readonly system: ActorSystem
  readonly config: ResolvedConfig
  readonly generation: number
  /**
   * Starts a new generation (new code; new config if given), routes to it once ready, drains
   * the old. Listeners follow a changed `bind` (new ones open before old ones close). The
   * worker count stays as scaled unless the new config's `workers` differs from the last one's.
   */
  reload(config?: ResolvedConfig): Promise<void>
  /** Changes the number of workers live; fewer than one is ignored with a log line. */
  scale(workers: number): Promise<void>
  /** Kills one worker now (SIGKILL / terminate()); its supervisor replaces it. */
  kill(workerId: string): void
  /**
   * Restarts one app actor (`counter` or `/troupe/actors/counter`): stopped gracefully keeping
   * the messages waiting for it, started again by its supervisor; resolves with its node once
   * it is ready again. Workers are refused (`kill` has their supervisor replace one), as is a
   * name that is no app actor; both with TROUPE_E_INVALID_OPTION.
   */
  restartActor(actor: string): Promise<TreeNode>
  /** Every worker opens its access log afresh (USR1, after logrotate moved it); resolves once they have. */
  reopenLogs(): Promise<void>
  /** The workers' log level from now on (until a reload applies the config's); resolves once they have it. */
  setLogLevel(level: ResolvedConfig['logLevel']): Promise<void>
  /**
   * Graceful: stop accepting, drain within gracefulTimeout. Fast (`graceful: false`): cut
   * connections. `keepSocketFiles`: a new master serves the Unix sockets now; leave their files.
   */
  stop(options?: { readonly graceful?: boolean; readonly keepSocketFiles?: boolean }): Promise<void>
  /** The listeners a new master inherits on USR2: under handoff with their descriptors, under reuseport their ports. */
  handOver(): readonly HandOver[]
  tree(): TreeNode
  /** A complete snapshot: workers, listeners, totals since start (what `troupe stats` prints). */
  stats(): Stats
  /** Who this master is: version, pid, addresses, control socket, admin listener. */
  info(): InstanceInfo
  /** The control API over this server: what the control socket and the dashboard's actions call. */
  readonly control: ControlApi
}

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

/** With reuseport every worker binds the same port itself: port 0 has to become one real port first. */
const concretePort = async (bind: BindAddress): Promise<BindAddress> => {
  if (bind.kind !== 'tcp' || bind.port !== 0) return bind
  const probe = net.createServer()
  const bound = await listen(probe, bind, { backlog: 1, reusePort: true })
  await new Promise((resolve) => probe.close(resolve))
  return bound
}

/** The binds as configured (`127.0.0.1:0`) and as they are bound (under reuseport, port 0 made concrete). */
interface Binds {
  readonly requested: readonly string[]
  readonly bound: readonly BindAddress[]
}

/**
 * Parses `config.bind`; under reuseport, makes port 0 concrete, since every worker binds the
 * same port itself. An address kept from `previous` keeps its port: `:0` must not move on HUP.
 */
const resolveBinds = async (config: ResolvedConfig, previous?: Binds): Promise<Binds> => {
  const proxied = new Set(config.proxyProtocol)
  // PROXY protocol is a listener's setting: on the address as the config gives it.
  const withProxy = (bind: BindAddress, given: string): BindAddress =>
    proxied.has(given) ? { ...bind, proxy: true } : bind
  const requested = [...config.bind, ...config.uwsgi.map((u) => formatBind(parseUwsgiAddress(u)))]
  const parsed = [
    ...config.bind.map((b, i) => withProxy(parseBind(b, `bind[${i}]`), b)),
    ...config.uwsgi.map((u, i) => withProxy(parseUwsgiAddress(u, `uwsgi[${i}]`), u)),
  ]
  if (config.strategy !== 'reuseport') return { requested, bound: parsed }
  const bound = await Promise.all(
    parsed.map((bind, i) => {
      const kept = previous?.requested.indexOf(requested[i]!) ?? -1
      return kept >= 0 && previous?.bound[kept]
        ? ({
            ...previous.bound[kept],
            ...bind,
            port: (previous.bound[kept] as { port?: number }).port ?? 0,
          } as BindAddress)
        : concretePort(bind)
    }),
  )
  return { requested, bound }
}

/**
 * The binds of the master this one replaces, as `resolveBinds` keeps them across a reload:
 * under reuseport a bind asking for the same address gets the same port.
 */
const inheritedBinds = (all: readonly InheritedListener[] | undefined): Binds | undefined => {
  const inherit = all?.filter((l) => l.role === undefined)
  return (
    inherit && {
      requested: inherit.map((l) => l.bind),
      bound: inherit.map((l, i) => parseListenAddress(l.address, `inherited listener ${i}`)),
    }
  )
}

/** What the acceptor takes from the config. */
const acceptorLimits = (config: ResolvedConfig) => ({
  backlog: config.backlog,
  socketMode: config.socketMode,
  queueLimit: config.acceptQueue,
  queueTimeout: ms(config.timeout),
})

/** Tells apart the servers of one process on the server channels. */
let servers = 0

/** Where the master's entries go: the `log` lines and the `logger` records. */
const noteTo =
  (options: ServeOptions) =>
  (said: LogEntry): void => {
    options.log?.(said.msg)
    if (options.logger) send(options.logger, said)
  }

/** How long a worker or app actor runs before its death is no longer taken for a crash loop (see SupervisorOptions.stableAfter). */
const WORKER_STABLE_AFTER_MS = 1_000

/** Starts serving `config`: checks it, then composes the actor system, the acceptor and the worker pool. */
export const startServer = async (config: ResolvedConfig, options: ServeOptions = {}): Promise<Server> => {
  const id = ++servers
  const note = noteTo(options)
  const log = (line: string) => note(warningEntry(line))
  const base = pathToFileURL(`${options.cwd ?? process.cwd()}/`)
  const appUrl = (app: string) => pathToFileURL(new URL(app, base).pathname).href
  const app = await loadApp(appUrl(config.app))
  preflight(config, app)
  const binds = await resolveBinds(config, inheritedBinds(options.inherit))
  // Said once at start: the strategy cannot change on reload.
  if (config.strategy === 'reuseport' && !migratesQueuedConnections())
    log(warningLine('TROUPE_W_MIGRATE_REQ'))

  const unsubscribe = subscribeLifecycleLog(id, note)
  const system = await createSystem({
    name: 'troupe',
    log,
    // The master's own children (acceptor side, app actors, the pool) give up only after many restarts.
    intensity: Math.max(10, config.workers * 3),
    period: 60_000,
    ...(options.onFailure ? { onFailure: options.onFailure } : {}),
  })
  const settingFor = (
    cfg: ResolvedConfig,
    bound: readonly BindAddress[],
    appStyle: ResolvedApp['style'],
  ): WorkerSetting => ({
    app: appUrl(cfg.app),
    appStyle,
    actorsPath: `/${system.name}/actors`,
    binds: bound,
    logFormat: options.logFormat ?? 'text',
    // Only for https:// binds, and node:crypto taken here, not imported: loading it is 12 ms of
    // the master's start (measured here), paid only where TLS needs it.
    ...(bound.some((b) => b.kind === 'tcp' && b.tls)
      ? { ticketKeys: process.getBuiltinModule('node:crypto').randomBytes(48).toString('base64') }
      : {}),
  })

  let workers: Supervisor | undefined
  let acceptor: Acceptor | undefined
  let pool: WorkerPool | undefined
  let book: Book | undefined
  let admin: AdminListener | undefined
  let server: TroupeServer | undefined
  const startedAt = Date.now()
  let feed: Feed | undefined
  try {
    if (config.admin !== null) feed = await startFeed(config, { id, system, server: () => server })
    await system.start(
      supervisor({
        id: 'actors',
        // As for workers: an app actor that ran a second and was then killed is restarted at
        // once, and only deaths while starting count toward giving up.
        stableAfter: WORKER_STABLE_AFTER_MS,
        children: appActors(app, config).map(({ definition, options: actorOptions }) =>
          actor(definition, { placement: 'thread', ...actorOptions, id: definition.name }),
        ),
      }),
    )
    if (config.strategy === 'handoff') {
      acceptor = new Acceptor({
        binds: binds.bound,
        ...acceptorLimits(config),
        workers: () => pool?.slots ?? [],
        log,
        onListen: (address) => serverChannels.listen.publish({ server: id, address: formatBind(address) }),
        onUnlisten: (address) =>
          serverChannels.unlisten.publish({ server: id, address: formatBind(address) }),
        inherited: new Map(
          (options.inherit ?? []).flatMap(({ bind, fd, role }) =>
            fd === undefined || role !== undefined
              ? []
              : [[formatBind(parseListenAddress(bind)), fd] as const],
          ),
        ),
      })
      await acceptor.listen()
    }
    await system.start({
      id: 'workers',
      build: (context) => {
        workers = new Supervisor(
          'workers',
          {
            strategy: 'one_for_one',
            intensity: Math.max(5, config.workers * 2),
            period: 30_000,
            // A worker that served a second and was then killed (OOM killer, operator, a kill
            // every 2 s in the chaos suite) is replaced at once and is no sign of a crash loop;
            // one that dies while it boots backs off and counts toward giving up.
            stableAfter: WORKER_STABLE_AFTER_MS,
          },
          context,
          'pool',
        )
        return workers
      },
    })
    pool = new WorkerPool(config, settingFor(config, binds.bound, app.style), {
      supervisor: workers!,
      server: id,
      onChange: () => acceptor?.flush(),
      onAccepted: (address, count) => acceptor?.countAccepted(address, count),
    })
    book = new Book(serverScope(system, pool))
    await pool.start()
    // A master started by USR2 serves its predecessor's admin socket: same address, no gap.
    const inheritedAdmin = options.inherit?.find((l) => l.role === 'admin')
    const adopted = inheritedAdmin?.bind === config.admin ? inheritedAdmin.fd : undefined
    // An admin socket nobody adopts (the new config moved it) would queue connections no one accepts.
    if (inheritedAdmin?.fd !== undefined && adopted === undefined) closeSync(inheritedAdmin.fd)
    if (feed)
      admin = await startAdminFor(config, { feed, book, log, server: () => server, inherited: adopted })
  } catch (error) {
    feed?.close()
    book?.close()
    pool?.stopping()
    await acceptor?.close()
    await system.stop()
    unsubscribe()
    throw error
  }
  if (acceptor) acceptor.generation = pool.generation
  acceptor?.takeOver()
  server = new TroupeServer({
    id,
    system,
    workers: workers!,
    pool,
    acceptor,
    binds,
    note,
    unsubscribe,
    appUrl,
    settingFor,
    book,
    admin,
    startedAt,
    controlPath: options.controlPath ?? null,
    operations: options.operations,
  })
  if (admin)
    note(entry('info', 'admin.listen', `admin on ${admin.url} (dashboard at /; /metrics, /livez, /readyz)`))
  return server
}

/** The server once startServer has made it; before that, what the admin listener and the feed answer with. */
const runningServer = (server: () => TroupeServer | undefined): TroupeServer => {
  const running = server()
  if (!running) throw new Error('the server is still starting')
  return running
}

/**
 * The dashboard's feed, made before anything starts so its event log has the start in it; it
 * answers for `server` once there is one.
 */
const startFeed = async (
  config: ResolvedConfig,
  parts: {
    readonly id: number
    readonly system: ActorSystem
    readonly server: () => TroupeServer | undefined
  },
): Promise<Feed> => {
  const { Feed } = await import('./observe/dashboard/feed.ts')
  const running = () => runningServer(parts.server)
  const actorsPath = `/${parts.system.name}/actors/`
  return new Feed({
    stats: () => running().stats(),
    tree: () => running().tree(),
    server: parts.id,
    owns: (path) =>
      path.startsWith(actorsPath) && appActorNodes(parts.system).some((actor) => actor.path === path),
    guarded: config.adminToken !== null,
  })
}

/** The admin listener; it answers for `server` once there is one (503 from /readyz until then). */
const startAdminFor = async (
  config: ResolvedConfig,
  parts: {
    readonly feed: Feed
    readonly book: Book
    readonly log: (line: string) => void
    readonly server: () => TroupeServer | undefined
    readonly inherited: number | undefined
  },
): Promise<AdminListener> => {
  const { startAdmin } = await import('./observe/admin.ts')
  return startAdmin({
    address: config.admin!,
    ...(parts.inherited === undefined ? {} : { inheritedFd: parts.inherited }),
    token: config.adminToken,
    socketMode: config.socketMode,
    book: parts.book,
    log: parts.log,
    feed: parts.feed,
    stats: () => runningServer(parts.server).stats(),
    control: () => parts.server()?.control,
    readiness: () => parts.server()?.readiness() ?? { ready: false, why: 'starting' },
  })
}

interface Parts {
  readonly id: number
  readonly system: ActorSystem
  readonly workers: Supervisor
  readonly pool: WorkerPool
  readonly acceptor: Acceptor | undefined
  readonly binds: Binds
  readonly note: (entry: LogEntry) => void
  /** Ends the lifecycle log, once the last worker's stop is logged. */
  readonly unsubscribe: () => void
  readonly appUrl: (app: string) => string
  readonly settingFor: (
    config: ResolvedConfig,
    bound: readonly BindAddress[],
    appStyle: ResolvedApp['style'],
  ) => WorkerSetting
  readonly book: Book
  readonly admin: AdminListener | undefined
  readonly startedAt: number
  readonly controlPath: string | null
  readonly operations: MasterOps | undefined
}

/** The facade operators steer; each operation is a method that says what it does. */
class TroupeServer implements Server {
  readonly system: ActorSystem
  readonly #parts: Parts
  readonly #pool: WorkerPool
  readonly #acceptor: Acceptor | undefined
  #binds: Binds
  /** The `workers` the last config asked for: a reload keeps a scaled count unless this changes. */
  #configuredWorkers: number
  #reloading: Promise<void> | undefined
  /** The reload asked for while #reloading ran; it starts when that one ends. */
  #queuedReload: Promise<void> | undefined
  #nextConfig: ResolvedConfig | undefined
  #stopped: Promise<void> | undefined
  /** Set first thing when a stop begins: /readyz says 503 before anything drains. */
  #draining = false
  readonly control: ControlApi

  constructor(parts: Parts) {
    this.system = parts.system
    this.#parts = parts
    this.#pool = parts.pool
    this.#acceptor = parts.acceptor
    this.#binds = parts.binds
    this.#configuredWorkers = parts.pool.config.workers
    this.control = controlApi(
      this,
      parts.operations ?? {
        reload: () => this.reload(),
        stop: (graceful) => void this.stop({ graceful }),
        setLogLevel: (level) => level,
      },
    )
  }

  get addresses(): readonly string[] {
    return (this.#acceptor?.addresses ?? this.#binds.bound).map(formatBind)
  }

  get config(): ResolvedConfig {
    return this.#pool.config
  }

  get generation(): number {
    return this.#pool.generation
  }

  reload(next?: ResolvedConfig): Promise<void> {
    // Asked during a reload: that one may have loaded the app and config before what this ask
    // is for (an edit, then HUP), so one more runs after it; asks made meanwhile share it, the
    // last config given winning. Joining the running reload instead lost such an edit.
    if (this.#reloading) {
      this.#nextConfig = next ?? this.#nextConfig
      this.#queuedReload ??= this.#reloading
        .catch(() => {})
        .then(() => {
          const config = this.#nextConfig
          this.#nextConfig = undefined
          this.#queuedReload = undefined
          if (this.#draining)
            throw new SystemStoppedError(
              'the server is stopping: the reload asked during the last one was not run',
            )
          return this.reload(config)
        })
      return this.#queuedReload
    }
    // With no new config, the loaded one again: its `workers` is the configured count, not the
    // scaled one the pool runs, so a scaled count stays as it is.
    this.#reloading = this.#reload(
      next ?? { ...this.#pool.config, workers: this.#configuredWorkers },
    ).finally(() => {
      this.#reloading = undefined
    })
    return this.#reloading
  }

  /**
   * Checks the new config and code, starts the new generation beside the old one, moves the
   * listeners (new ones first), switches the acceptor, drains the old generation. Anything
   * that fails before the switch leaves the old generation serving.
   */
  async #reload(next: ResolvedConfig): Promise<void> {
    const pool = this.#pool
    const current = pool.config
    const started = performance.now()
    const server = this.#parts.id
    serverChannels.reloadStart.publish({ server, generation: pool.generation + 1 })
    try {
      preflightReload(current, next)
      preflight(next)
      const appStyle = await preflightApp(this.#parts.appUrl(next.app), next)
      const count = next.workers !== this.#configuredWorkers ? next.workers : current.workers
      const binds = await resolveBinds(next, this.#binds)
      const config = { ...next, workers: count }
      const setting = this.#parts.settingFor(config, binds.bound, appStyle)
      const gen = await pool.startGeneration(config, setting, count)
      try {
        // The new limits first: the addresses opened next are opened with them.
        this.#acceptor?.configure(acceptorLimits(config))
        await this.#acceptor?.rebind(binds.bound)
      } catch (error) {
        this.#acceptor?.configure(acceptorLimits(current))
        await pool.abandon(gen)
        throw error
      }
      if (this.#acceptor) this.#acceptor.generation = gen
      this.#binds = binds
      this.#configuredWorkers = next.workers
      await pool.promote(config, setting, gen)
      serverChannels.reloadDone.publish({
        server,
        generation: gen,
        workers: count,
        durationMs: Math.round(performance.now() - started),
      })
    } catch (error) {
      serverChannels.reloadFailed.publish({ server, generation: pool.generation + 1, error: error as Error })
      throw error
    }
  }

  async scale(count: number): Promise<void> {
    await this.#reloading?.catch(() => {})
    await this.#pool.scale(count)
  }

  kill(workerId: string): void {
    this.#pool.kill(workerId)
  }

  async restartActor(actor: string): Promise<TreeNode> {
    const actorsPath = `/${this.system.name}/actors`
    const workersPath = this.#parts.workers.path
    const path = actor.startsWith('/') ? actor.replace(/\/+$/, '') : `${actorsPath}/${actor}`
    const actors = appActorNodes(this.system)
    if (actors.some((node) => node.path === path)) {
      const node = await this.system.restart(path)
      serverChannels.actorRestart.publish({
        server: this.#parts.id,
        actor: node.path,
        restart: node.restarts,
        pid: node.pid ?? null,
        threadId: node.threadId ?? null,
      })
      return node
    }
    const worker = path.startsWith(`${workersPath}/`) ? path.slice(workersPath.length + 1) : actor
    if (this.#pool.slot(`${workersPath}/${worker}`))
      throw new InvalidOptionError(
        `restart: ${worker} is a worker, not an app actor: \`troupe kill ${worker}\` has its supervisor replace it`,
      )
    const names = actors.map((node) => node.name).join(', ') || 'none'
    throw new InvalidOptionError(`restart: no app actor "${actor}" (app actors: ${names})`)
  }

  async reopenLogs(): Promise<void> {
    const workers = await this.#pool.reopenLogs()
    this.#parts.note(entry('info', 'logs.reopen', `reopened log files (${workers} workers)`, { workers }))
  }

  async setLogLevel(level: ResolvedConfig['logLevel']): Promise<void> {
    await this.#pool.setLogLevel(level)
  }

  handOver(): readonly HandOver[] {
    const app: HandOver[] = this.#acceptor
      ? [...this.#acceptor.handOver()]
      : this.#binds.bound.map((address, i) => ({ bind: this.#binds.requested[i]!, address }))
    const admin = this.#parts.admin
    // The admin listener too: a new master binding its own would find the address taken.
    if (admin && this.config.admin !== null)
      app.push({ bind: this.config.admin, address: admin.bound, fd: admin.fd, role: 'admin' })
    return app
  }

  stop(options: { readonly graceful?: boolean; readonly keepSocketFiles?: boolean } = {}): Promise<void> {
    this.#draining = true
    // A fast stop asked for during a graceful one cuts it short, and both end together.
    if (options.graceful === false) void this.#parts.workers.stop(undefined, true)
    this.#stopped ??= (async () => {
      this.#pool.stopping()
      // Listening stops now; the listeners' close completes once relayed (Unix, thread)
      // connections are gone, which is after the workers drained them.
      const closing = this.#acceptor?.close({ keepSocketFiles: options.keepSocketFiles ?? false })
      // No worker drains while another still accepts (see stoppedAccepting).
      await this.#acceptor?.stoppedAccepting()
      await this.#reloading?.catch(() => {})
      await this.system.stop()
      // Bounded: a listener whose last relayed connection lingers must not hold the exit.
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
      // Last: the probes and metrics answer throughout the drain.
      await this.#parts.admin?.close({ keepSocketFile: options.keepSocketFiles ?? false })
      this.#parts.book.close()
      this.#parts.unsubscribe()
    })()
    return this.#stopped
  }

  // --- observing: stats, info, readiness (runtime/master/observe/) ---

  #observed(): Observed {
    return {
      book: this.#parts.book,
      pool: this.#pool,
      acceptor: this.#acceptor,
      system: this.system,
      addresses: this.addresses,
      startedAt: this.#parts.startedAt,
      controlPath: this.#parts.controlPath,
      adminAddress: this.#parts.admin?.address ?? null,
      draining: this.#draining,
    }
  }

  stats(): Stats {
    return stats(this.#observed())
  }

  info(): InstanceInfo {
    return instanceInfo(this.#observed())
  }

  /** What /readyz answers: ready unless stopping or no worker of the serving generation is ready. */
  readiness(): { readonly ready: boolean; readonly why?: string } {
    if (this.#draining) return { ready: false, why: 'stopping' }
    if (!isReady({ pool: this.#pool, draining: false })) return { ready: false, why: 'no worker ready' }
    return { ready: true }
  }

  // --- end observing ---

  tree(): TreeNode {
    const tree = this.system.tree()
    const acceptorNode: TreeNode = {
      path: `/${this.system.name}/acceptor`,
      name: 'acceptor',
      kind: 'actor',
      state: this.#stopped ? 'stopped' : 'ready',
      startedAt: null,
      restarts: 0,
      lastExit: null,
      placement: 'local',
      pid: process.pid,
      threadId: null,
      info: {
        strategy: this.#pool.config.strategy,
        ...(this.#acceptor?.info() ?? { listeners: this.#binds.bound.map(formatBind) }),
      },
    }
    return { ...tree, children: [acceptorNode, ...(tree.children ?? [])] }
  }
}
