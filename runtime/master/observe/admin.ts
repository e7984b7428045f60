/**
 * The admin listener (`--admin`): plain node:http in the master, apart from the app's
 * listeners. `GET /metrics` (Prometheus text), `GET /livez` and `GET /readyz` with the meaning
 * Kubernetes gives them, and the dashboard at `/` (dashboard/). With a token
 * (`--admin-token`), everything but the two probes needs it (dashboard/auth.ts): a probe in a
 * manifest would otherwise carry the token in plain sight, and a probe tells nothing an open
 * port does not.
 */
import {
  adopt,
  type BindAddress,
  claimSocketFile,
  closeListener,
  formatBind,
  listen,
  listenerFd,
  parseBind,
} from '../../../transports/http/listen.ts'
import { nodeHttp } from '../../../transports/http/node-http.ts'
import { ListenError } from '../../errors.ts'
import { warningLine } from '../../warnings.ts'
import type { ControlApi, Stats } from '../control/api.ts'
import type { Book } from './book.ts'
import { carriesToken, challengeFor } from './dashboard/auth.ts'
import { createDashboard, isDashboardPath } from './dashboard/dashboard.ts'
import type { Feed } from './dashboard/feed.ts'
import { answerText } from './text-answer.ts'

export interface AdminOptions {
  /** As the option gives it: HOST:PORT, [V6]:PORT or unix:PATH. */
  readonly address: string
  /** A listening socket inherited from the master this one replaces (USR2), bound to `address`. */
  readonly inheritedFd?: number
  readonly token: string | null
  readonly socketMode: number
  readonly book: Book
  readonly stats: () => Stats
  /** The dashboard's feed, started with the server (dashboard/feed.ts). */
  readonly feed: Feed
  /** The control API once the server runs: the dashboard's actions call it. */
  readonly control: () => ControlApi | undefined
  /** Whether the master takes traffic now (what /readyz answers), and if not, why. */
  readonly readiness: () => { readonly ready: boolean; readonly why?: string }
  /** The master's log, for an accept error. */
  readonly log: (line: string) => void
}

export interface AdminListener {
  /** As bound: port 0 resolved; `http://…` for TCP, `unix:PATH` for a socket. */
  readonly url: string
  /** HOST:PORT or unix:PATH, as bound. */
  readonly address: string
  readonly bound: BindAddress
  /** The listening socket's descriptor: what a new master inherits on USR2. */
  readonly fd: number
  /** `keepSocketFile`: a new master serves the same Unix socket now; leave its file. */
  close(options?: { readonly keepSocketFile?: boolean }): Promise<void>
}

const PROBES = new Set(['/livez', '/readyz'])

export const startAdmin = async (options: AdminOptions): Promise<AdminListener> => {
  // Here, not at the module's top: a master without an admin listener never loads prom-client.
  const metrics = (await import('./metrics.ts')).createMetrics(options.book)
  const dashboard = createDashboard({
    feed: options.feed,
    control: options.control,
    guarded: options.token !== null,
  })
  const server = nodeHttp.createServer(async (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://admin')
    if (
      !PROBES.has(pathname) &&
      options.token !== null &&
      !carriesToken(req.headers.authorization, options.token)
    ) {
      // Nothing about the server: not even whether the path exists.
      answerText(res, 401, 'unauthorized\n', { 'www-authenticate': challengeFor(isDashboardPath(pathname)) })
      return
    }
    if (dashboard.handle(req, res, pathname)) return
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answerText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' })
      return
    }
    try {
      switch (pathname) {
        case '/livez':
          // The master's loop answered: it lives. A stopping master is alive too (a restart
          // would cut its drain short).
          answerText(res, 200, 'ok\n')
          return
        case '/readyz': {
          const { ready, why } = options.readiness()
          answerText(res, ready ? 200 : 503, ready ? 'ready\n' : `not ready: ${why}\n`)
          return
        }
        case '/metrics': {
          answerText(res, 200, await metrics.render(options.stats()), { 'content-type': metrics.contentType })
          return
        }
        default:
          answerText(res, 404, 'not found: / (the dashboard), /metrics, /livez, /readyz\n')
      }
    } catch (error) {
      answerText(res, 500, `${(error as Error).message}\n`)
    }
  })
  // A scraper that keeps its connection open must not hold the master's exit.
  server.keepAliveTimeout = 5_000
  const wanted: BindAddress = parseBind(options.address, 'admin')
  const opening =
    options.inheritedFd === undefined
      ? listen(server, wanted, { backlog: 64, socketMode: options.socketMode })
      : adopt(server, options.inheritedFd, wanted, { backlog: 64, socketMode: options.socketMode })
  const bound = await opening.catch((error: Error) => {
    dashboard.close()
    // Said as the admin listener's: the app's addresses may well be free.
    throw new ListenError(`admin listener: ${error.message}`, { cause: error })
  })
  const address = formatBind(bound)
  // Past listen(), an error event (EMFILE on accept) must not end the master that serves the app.
  server.on('error', (error) =>
    options.log(warningLine('TROUPE_W_ADMIN_ERROR', `admin on ${address}: ${error.message}`)),
  )
  // An adopted Unix socket's file is ours from now on (the old master leaves it).
  if (options.inheritedFd !== undefined && bound.kind === 'unix') claimSocketFile(server, bound.path)
  return {
    address,
    bound,
    fd: listenerFd(server),
    url: bound.kind === 'unix' ? address : `http://${address}`,
    close: ({ keepSocketFile = false } = {}) => {
      // closeListener also removes a unix: socket file (listen() binds it under a private name).
      const closed = closeListener(server, { keepSocketFile })
      // The dashboard's streams end now (their pages reconnect, to a new master if there is
      // one); a scrape or probe in flight gets its answer, and a connection still open after a
      // moment is cut, so a stuck client cannot hold the master's exit.
      dashboard.close()
      // Idle keep-alive connections go, but not at once: one accepted just before the close
      // gets the moment its request needs to arrive, and its answer.
      const idle = setInterval(() => server.closeIdleConnections(), 100)
      const cut = setTimeout(() => server.closeAllConnections(), 1_000)
      return closed.finally(() => {
        clearInterval(idle)
        clearTimeout(cut)
      })
    },
  }
}
