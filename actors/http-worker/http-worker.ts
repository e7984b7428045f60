/**
 * The HTTP worker actor: loads the user's app in its own thread or process, serves the
 * connections the acceptor hands it (or binds its own SO_REUSEPORT listeners), reports its
 * counters, and drains on shutdown. Supervised like any actor: heartbeats, restarts, tree.
 */
import net from 'node:net'
import { isMainThread, type MessagePort, threadId } from 'node:worker_threads'
import { type AppContext, assertKindFits, loadApp, needsHttp1, type ResolvedApp } from '../../apps/app.ts'
import { type ActorContext, defineActor } from '../../runtime/actor.ts'
import type { RefTarget } from '../../runtime/ref.ts'
import { warningLine } from '../../runtime/warnings.ts'
import { trustForwardedFrom } from '../../transports/http/client.ts'
import { freshSocket } from '../../transports/http/fresh-socket.ts'
import { installFetchGlobals } from '../../transports/http/http-fetch.ts'
import { type BindAddress, formatBind, listen } from '../../transports/http/listen.ts'
import { BridgedSocket } from '../../transports/http/socket-bridge.ts'
import { AccessLog } from './access-log.ts'
import { coroutineEngine, type EngineHandle } from './engines.ts'
import { configureWorkerLog, say, setWorkerLogLevel } from './worker-log.ts'
import type { WorkerArgs, WorkerInfo, WorkerLogSettings } from './worker-protocol.ts'
import { WorkerServer } from './worker-server.ts'

interface WorkerState {
  readonly args: WorkerArgs
  readonly app: ResolvedApp
  readonly engine: EngineHandle
  readonly appContext: AppContext
  readonly server: WorkerServer
  readonly listeners: net.Server[]
  /** Unix listeners this thread accepts on itself, on descriptors the master gave it (by name). */
  readonly shared: Map<string, net.Server>
  stopping: boolean
  readonly graceMs: number
  readonly accessLog: AccessLog | undefined
}

export interface HttpWorkerArgs extends WorkerArgs {
  /** How long a drain may take before connections are cut, ms. */
  readonly gracefulMs: number
}

/** The stack when there is one (it names the error and the message), else what was thrown. */
const describeError = (error: unknown): string =>
  error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : `thrown: ${String(error)}`

export const httpWorker = defineActor({
  name: 'http-worker',
  module: import.meta.url,
  init: async (args: HttpWorkerArgs, ctx: ActorContext): Promise<WorkerState> => {
    const id = ctx.path.split('/').pop()!
    configureWorkerLog(args.log, id)
    // A process worker shows in ps as itself, not as `node …/actor-child.ts`; the master's
    // --name reaches it through the environment it inherits.
    if (isMainThread)
      process.title = ['troupe: worker', id, process.env.TROUPE_NAME].filter(Boolean).join(' ')
    // Before the app is imported, so that a Response it keeps from its import is the light
    // kind; skipped for an app the master found Node-style, which never needs them (nor the
    // undici that reading the globals loads), and made good after loading if that was stale.
    if (args.appStyle !== 'node') installFetchGlobals()
    trustForwardedFrom(args.forwardedAllowIps)
    const app = await loadApp(args.app)
    if (app.style === 'fetch') installFetchGlobals()
    assertKindFits(app, args.kind)
    const http2Off =
      (args.http2.tls && args.tls !== undefined) || args.http2.cleartext ? needsHttp1(app) : false
    if (http2Off)
      say(
        warningLine(
          'TROUPE_W_APP_NEEDS_NODE_HTTP',
          `worker ${id}: the app (${app.name}) gives requests node:http's prototype (Express does), which HTTP/2 requests cannot take: served HTTP/1.1 only (--no-http2 says so and silences this)`,
        ),
        'warn',
        'warning',
      )
    const served: HttpWorkerArgs = http2Off
      ? { ...args, http2: { ...args.http2, tls: false, cleartext: false } }
      : args
    const appContext: AppContext = {
      actor: (definition) => ctx.ref(definition, `${args.actorsPath}/${definition.name}`),
      worker: Object.freeze({ id, generation: args.generation, pid: process.pid, threadId }),
    }
    // Opened before serving: a path it cannot open fails the worker's start, with the reason.
    const accessLog = args.accessLog
      ? new AccessLog(id, args.accessLog.target, args.accessLog.format, (error) =>
          say(
            warningLine(
              'TROUPE_W_ACCESS_LOG',
              `worker ${id} access log ${args.accessLog!.target}: ${error.message}`,
            ),
            'warn',
            'warning',
          ),
        )
      : undefined
    // The server before the app's setup, which may attach to it (a WebSocket server); the
    // engine after it, as before. No connection arrives until init has returned.
    let engine: EngineHandle | undefined
    const server = new WorkerServer(served, (req, res, request) => engine!.run(req, res, request), {
      onChange: (info: WorkerInfo) => ctx.report({ ...info }),
      onAppError: (error, req) =>
        say(
          `error: worker ${id} ${req.method} ${req.url}: ${describeError(error)}`,
          'error',
          'request.error',
        ),
      onRefused: (error, remote) =>
        say(
          `warn: worker ${id} refused a connection${remote ? ` from ${remote}` : ''}: ${(error as { code?: string }).code ?? error.name} ${error.message}`,
          'warn',
          'connection.refused',
        ),
      onDrainError: (error) =>
        say(`error: worker ${id} app drain hook: ${describeError(error)}`, 'error', 'drain.error'),
      ...(accessLog ? { accessLog } : {}),
    })
    try {
      await app.setup?.({ ...appContext, server: server.http })
    } catch (error) {
      accessLog?.close()
      throw error
    }
    // crossws hooks are loaded only for an app that has them: crossws is the app's dependency.
    const upgrade =
      app.upgrade ??
      (app.websocket && (await (await import('../../apps/websocket-hooks.ts')).crosswsUpgrade(app.websocket)))
    server.serveUpgrades(upgrade && ((req, socket, head) => upgrade(req, socket, head, appContext)))
    engine =
      args.kind === 'thread-pool'
        ? await (await import('./thread-pool-engine.ts')).threadPoolEngine(
            args,
            appContext,
            (path) => ctx.ref(httpWorker, path) as unknown as RefTarget,
          )
        : coroutineEngine(app, appContext, args)
    const listeners: net.Server[] = []
    for (const bind of args.reuseport?.binds ?? []) {
      const listener = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) =>
        server.accept(socket, bind),
      )
      await listen(listener, bind, { backlog: args.reuseport!.backlog, reusePort: true })
      listener.on('error', (error) =>
        say(
          warningLine('TROUPE_W_LISTENER_ERROR', `worker ${id} reuseport listener: ${error.message}`),
          'warn',
          'warning',
        ),
      )
      listeners.push(listener)
    }
    ctx.report({ ...server.info() })
    return {
      args,
      app,
      engine,
      appContext,
      server,
      listeners,
      shared: new Map(),
      stopping: false,
      graceMs: args.gracefulMs,
      accessLog,
    }
  },
  handle: {
    /** A connection the acceptor accepted; the socket moves here. */
    connection: (state, payload: { socket: net.Socket; bound: BindAddress }) =>
      // Transferred to a thread, the socket object is a slow one (fresh-socket.ts); a process
      // gets its handle from child_process, already in a socket of the usual kind.
      state.server.accept(isMainThread ? payload.socket : freshSocket(payload.socket), payload.bound),
    /** A Unix-domain connection the master relays (threads cannot take such sockets). */
    bridged: (state, payload: { port: MessagePort; bound: BindAddress }) =>
      state.server.accept(new BridgedSocket(payload.port), payload.bound),
    /**
     * A listener of its own, to accept on itself: a thread gets a unix one's descriptor, a process
     * a TCP one's handle. Closing the listener (or the worker's exit) closes that descriptor,
     * never another worker's.
     */
    'listen-shared': async (
      state,
      payload: { bound: BindAddress; fd?: number; handle?: object; backlog: number },
    ) => {
      const { bound, fd, handle, backlog } = payload
      const listener = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) =>
        state.server.accept(socket, bound, true),
      )
      listener.on('error', (error) =>
        say(
          warningLine('TROUPE_W_LISTENER_ERROR', `worker ${formatBind(bound)} listener: ${error.message}`),
          'warn',
          'warning',
        ),
      )
      // A process is sent the socket's handle (its own descriptor, by IPC); a thread a descriptor's number.
      await new Promise<void>((resolve) =>
        handle ? listener.listen(handle, backlog, resolve) : listener.listen({ fd, backlog }, resolve),
      )
      const key = formatBind(bound)
      const before = state.shared.get(key)
      state.shared.set(key, listener)
      before?.close()
      // Given while it was stopping: the listener it drains without.
      if (state.stopping) listener.close()
    },
    'unlisten-shared': (state, payload: { bound: BindAddress }) => {
      const key = formatBind(payload.bound)
      state.shared.get(key)?.close()
      state.shared.delete(key)
    },
    stats: (state) => state.server.info(),
    /** USR1 (logrotate): the access log is opened afresh at its path. */
    'reopen-logs': (state) => state.accessLog?.reopen(),
    /** `troupe log-level`: the worker's own lines follow the master's new level. */
    'log-level': (_state, payload: { level: WorkerLogSettings['level'] }) => setWorkerLogLevel(payload.level),
  },
  terminate: async (state) => {
    // Stop taking new connections first (reuseport, unix), then let the ones we have finish. A
    // listener's close completes only once its connections are gone, so it is awaited last.
    state.stopping = true
    const closed = [...state.listeners, ...state.shared.values()].map(
      (l) => new Promise((resolve) => l.close(resolve)),
    )
    const drain = state.app.drain
    await state.server.drain(state.graceMs, drain && ((deadline) => drain({ ...state.appContext, deadline })))
    await Promise.all(closed)
    state.server.report()
    // Every response is finished or cut by now: its line is the last one written.
    state.accessLog?.close()
    await state.engine.close()
    await state.app.teardown?.()
  },
})
