/**
 * The dashboard on the admin listener: the page at `/` (files under `/dashboard/`), its live
 * feed at `/events`, its actions at `POST /actions/NAME`. The admin listener checks the token
 * before anything here runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ControlApi } from '../../control/api.ts'
import { answerText } from '../text-answer.ts'
import { ACTIONS, type ActionName, type Answer, forgeryCheck, runAction } from './actions.ts'
import { type Asset, assets, pageScriptHash } from './assets.ts'
import { ACTIONS_OFF, type Feed } from './feed.ts'

export interface DashboardOptions {
  /** Started with the server, so its event log has the start in it. */
  readonly feed: Feed
  /** Whether a token guards the listener: the actions are offered only then. */
  readonly guarded: boolean
  /** The control API once the server runs (undefined while it starts). */
  readonly control: () => ControlApi | undefined
}

export interface Dashboard {
  /** Answers the request if the path is the dashboard's; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean
  close(): void
}

/** The paths a browser asks for: a 401 there challenges with Basic, so the browser prompts. */
export const isDashboardPath = (pathname: string): boolean =>
  pathname === '/' ||
  pathname === '/index.html' ||
  pathname === '/events' ||
  pathname.startsWith('/dashboard/') ||
  pathname.startsWith('/actions/')

/** Only its own script (inline, by its hash) runs: a name or message shown in the page never can. */
const pageHeaders = () => ({
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': `default-src 'none'; script-src 'self' '${pageScriptHash()}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
})

const json = (res: ServerResponse, { status, answer }: Answer): void => {
  const body = JSON.stringify(answer)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(body)
}

const sendAsset = (req: IncomingMessage, res: ServerResponse, asset: Asset): void => {
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, { etag: asset.etag, ...pageHeaders() })
    res.end()
    return
  }
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    etag: asset.etag,
    ...pageHeaders(),
  })
  res.end(req.method === 'HEAD' ? undefined : asset.body)
}

export const createDashboard = (options: DashboardOptions): Dashboard => {
  const { feed } = options
  const act = async (req: IncomingMessage, res: ServerResponse, action: ActionName) => {
    const forged = forgeryCheck(req)
    const control = options.control()
    const answer: Answer = !options.guarded
      ? { status: 403, answer: { ok: false, code: 'TROUPE_E_ADMIN_ACTIONS_OFF', message: ACTIONS_OFF } }
      : forged !== null
        ? { status: 403, answer: { ok: false, code: 'TROUPE_E_ADMIN_FORGERY', message: forged } }
        : control === undefined
          ? {
              status: 503,
              answer: { ok: false, code: 'TROUPE_E_STARTING', message: 'the server is still starting' },
            }
          : await runAction(control, action, req)
    json(res, answer)
  }
  return {
    handle(req, res, pathname) {
      const method = req.method ?? 'GET'
      if (pathname.startsWith('/actions/')) {
        const action = pathname.slice('/actions/'.length) as ActionName
        if (!ACTIONS.includes(action)) answerText(res, 404, `no action "${action}": ${ACTIONS.join(', ')}\n`)
        else if (method !== 'POST') answerText(res, 405, 'method not allowed\n', { allow: 'POST' })
        else void act(req, res, action)
        return true
      }
      if (!isDashboardPath(pathname)) return false
      if (method !== 'GET' && method !== 'HEAD') {
        answerText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' })
        return true
      }
      if (pathname === '/events') {
        try {
          feed.attach(res)
        } catch (error) {
          answerText(res, 503, `${(error as Error).message}\n`, { 'retry-after': '1' })
        }
        return true
      }
      const name = pathname.startsWith('/dashboard/') ? pathname.slice('/dashboard/'.length) : 'index.html'
      const asset = assets().get(name)
      if (asset) sendAsset(req, res, asset)
      else answerText(res, 404, `not found: ${pathname}\n`)
      return true
    },
    close: () => feed.close(),
  }
}
