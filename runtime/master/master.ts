/**
 * The master: serves nothing itself. It composes the parts — preflight checks, the actor
 * system with the app's actors, the acceptor (handoff) and the worker pool — and is the
 * `Server` facade operators steer: reload (a new generation ready before the old one
 * drains), scale, kill, stop, tree.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { pathToFileURL } from 'node:url'
import { Acceptor } from '../../actors/acceptor.ts'
import { loadApp, normalizeActors, type ResolvedApp } from '../../apps/app.ts'
import { type BindAddress, formatBind, listen, parseBind } from '../../transports/http/listen.ts'
import { ConfigError } from '../errors.ts'
import type { ExitReason } from '../exit.ts'
import { Supervisor } from '../supervisor.ts'
import { type ActorSystem, actor, createSystem, supervisor } from '../system.ts'
import type { TreeNode } from '../tree.ts'
import { warningLine } from '../warnings.ts'
import { serverChannels } from './channels.ts'
import type { ResolvedConfig } from './config.ts'
import { WorkerPool } from './pool.ts'
import { preflight, preflightReload } from './preflight.ts'
import type { WorkerSetting } from './worker-spec.ts'

export { threadHandoffSupported } from './preflight.ts'

export interface ServeOptions {
  /** Directory the app path is relative to. */
  readonly cwd?: string
  /** Called when the root supervisor gives up (default: exit 1). */
  readonly onFailure?: (reason: ExitReason) => void
  /** Receives one line per notable event (worker up, worker exit, reload done, warnings…). */
  readonly log?: (line: string) => void
}

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
  /** Graceful: stop accepting, drain within gracefulTimeout. Fast (`graceful: false`): cut connections. */
  stop(options?: { readonly graceful?: boolean }): Promise<void>
  tree(): TreeNode
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

export const startServer = async (config: ResolvedConfig, options: ServeOptions = {}): Promise<Server> => {
  const log = options.log ?? (() => {})
  const base = pathToFileURL(`${options.cwd ?? process.cwd()}/`)
  const appUrl = (app: string) => pathToFileURL(new URL(app, base).pathname).href
  const app = await loadApp(appUrl(config.app))
  preflight(config, app)
  /** The binds as configured, and as bound (the same, but with a port 0 made concrete under reuseport). */
  let requested: readonly string[] = []
  let binds: BindAddress[] = []
  /** Parsed binds; for reuseport, with port 0 made concrete (the workers bind them). */
  const bindsFor = async (cfg: ResolvedConfig): Promise<BindAddress[]> => {
    const parsed = cfg.bind.map((b, i) => parseBind(b, `bind[${i}]`))
    if (cfg.strategy !== 'reuseport') return parsed
    // An address kept across a reload keeps the port it got: `:0` must not move on every HUP.
    return Promise.all(
      parsed.map((bind, i) => {
        const kept = requested.indexOf(cfg.bind[i]!)
        return kept >= 0 && binds[kept] ? binds[kept] : concretePort(bind)
      }),
    )
  }
  binds = await bindsFor(config)
  requested = config.bind
  // Said once at start: the strategy cannot change on reload, nor the sysctl under troupe's feet.
  if (config.strategy === 'reuseport' && !migratesQueuedConnections())
    log(warningLine('TROUPE_W_MIGRATE_REQ'))

  const system = await createSystem({
    name: 'troupe',
    // The master's own children (acceptor side, app actors, the pool) give up only after many restarts.
    intensity: Math.max(10, config.workers * 3),
    period: 60_000,
    ...(options.onFailure ? { onFailure: options.onFailure } : {}),
  })
  const settingFor = (cfg: ResolvedConfig, reuseportBinds: readonly BindAddress[]): WorkerSetting => ({
    app: appUrl(cfg.app),
    actorsPath: `/${system.name}/actors`,
    binds: reuseportBinds,
  })

  let workers: Supervisor | undefined
  let acceptor: Acceptor | undefined
  let pool: WorkerPool | undefined
  try {
    await system.start(
      supervisor({
        id: 'actors',
        children: appActors(app, config).map(({ definition, options: actorOptions }) =>
          actor(definition, { placement: 'thread', ...actorOptions, id: definition.name }),
        ),
      }),
    )
    if (config.strategy === 'handoff') {
      acceptor = new Acceptor({
        binds,
        backlog: config.backlog,
        socketMode: config.socketMode,
        queueLimit: config.acceptQueue,
        queueTimeout: Math.round(config.timeout * 1000),
        workers: () => pool?.slots ?? [],
        log,
        onListen: (address) => serverChannels.listen.publish({ address: formatBind(address) }),
        onUnlisten: (address) => serverChannels.unlisten.publish({ address: formatBind(address) }),
      })
      await acceptor.listen()
    }
    await system.start({
      id: 'workers',
      build: (context) => {
        workers = new Supervisor(
          'workers',
          { strategy: 'one_for_one', intensity: Math.max(5, config.workers * 2), period: 30_000 },
          context,
          'pool',
        )
        return workers
      },
    })
    pool = new WorkerPool(config, settingFor(config, binds), {
      supervisor: workers!,
      log,
      onReady: () => acceptor?.flush(),
    })
    await pool.start()
  } catch (error) {
    pool?.stopping()
    await acceptor?.close()
    await system.stop()
    throw error
  }
  const workerPool = pool
  if (acceptor) acceptor.generation = workerPool.generation

  /** The `workers` the last config asked for: a reload keeps a scaled count unless this changes. */
  let configuredWorkers = config.workers
  /** Every reload attempt imports the app under a URL of its own: a failed import is cached by URL. */
  let loads = 0
  let stopping = false
  let stopped: Promise<void> | undefined
  let reloading: Promise<void> | undefined

  const reload = async (next: ResolvedConfig): Promise<void> => {
    const current = workerPool.config
    const generation = workerPool.generation + 1
    const started = performance.now()
    serverChannels.reloadStart.publish({ generation })
    try {
      preflightReload(current, next)
      preflight(next, await loadApp(`${appUrl(next.app)}?load=${++loads}`))
      const count = next.workers !== configuredWorkers ? next.workers : current.workers
      const nextBinds = await bindsFor(next)
      const cfg = { ...next, workers: count }
      const setting = settingFor(cfg, nextBinds)
      const gen = await workerPool.startGeneration(cfg, setting, count)
      try {
        await acceptor?.rebind(nextBinds)
      } catch (error) {
        await workerPool.abandon(gen)
        throw error
      }
      if (acceptor) acceptor.generation = gen
      binds = nextBinds
      requested = next.bind
      configuredWorkers = next.workers
      await workerPool.promote(cfg, setting, gen)
      log(`reloaded: generation ${gen}, ${count} workers`)
      serverChannels.reloadDone.publish({
        generation: gen,
        workers: count,
        durationMs: Math.round(performance.now() - started),
      })
    } catch (error) {
      serverChannels.reloadFailed.publish({ generation, error: error as Error })
      throw error
    }
  }

  return {
    get addresses() {
      return acceptor ? acceptor.addresses.map(formatBind) : binds.map(formatBind)
    },
    system,
    get config() {
      return workerPool.config
    },
    get generation() {
      return workerPool.generation
    },
    reload(next) {
      reloading ??= reload(next ?? workerPool.config).finally(() => {
        reloading = undefined
      })
      return reloading
    },
    async scale(count) {
      await reloading?.catch(() => {})
      await workerPool.scale(count)
    },
    kill(workerId) {
      workerPool.kill(workerId)
    },
    stop(stopOptions = {}) {
      // A fast stop asked for during a graceful one cuts it short, and both end together.
      if (stopOptions.graceful === false) void workers!.stop(undefined, true)
      stopped ??= (async () => {
        stopping = true
        workerPool.stopping()
        // Listening stops now; the listeners' close completes once relayed (Unix, thread)
        // connections are gone, which is after the workers drained them.
        const closing = acceptor?.close()
        await reloading?.catch(() => {})
        await system.stop()
        // Bounded: a listener whose last relayed connection lingers must not hold the exit.
        await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
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
        info: {
          strategy: workerPool.config.strategy,
          ...(acceptor?.info() ?? { listeners: binds.map(formatBind) }),
        },
      }
      return { ...tree, children: [acceptorNode, ...(tree.children ?? [])] }
    },
  }
}
