/**
 * Everything refused before a worker starts, in one list that `serve`, HUP and `troupe check`
 * all run: an impossible strategy × placement × Node combination, a bad bind, an app style the
 * kind cannot run, a change a reload cannot apply live. Also the one place that decides what
 * an unset placement becomes on a Node that cannot hand sockets to threads.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import { appFile, assertKindFits, type ResolvedApp } from '../../apps/app.ts'
import { parseBind } from '../../transports/http/listen.ts'
import { tlsContext } from '../../transports/http/tls.ts'
import {
  AppLoadError,
  ConfigError,
  deserializeError,
  PlacementUnsupportedError,
  type SerializedError,
} from '../errors.ts'
import type { AppCheckData } from './app-check.ts'
import type { ConfigKey, ResolvedConfig } from './config.ts'
import { ms } from './worker-spec.ts'

/**
 * Socket transfer to worker threads arrived in Node 26.6. `TROUPE_TEST_NO_THREAD_HANDOFF=1`
 * (test-only, read here and nowhere else) makes this Node look older, so the fallback and the
 * refusal are tested on the Node the suite runs on.
 */
export const threadHandoffSupported = (
  version = process.versions.node,
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean => {
  if (env.TROUPE_TEST_NO_THREAD_HANDOFF === '1') return false
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 26 || (major === 26 && minor >= 6)
}

const reuseportPossible = (config: ResolvedConfig): boolean =>
  process.platform === 'linux' && !config.bind.some((b) => b.startsWith('unix:'))

export interface Fitted {
  readonly config: ResolvedConfig
  /** Set when a default was changed to fit this Node: said in the serving line. */
  readonly note?: string
}

/**
 * The default (thread placement, handoff) needs Node >= 26.6. When the user did not choose
 * the placement, process placement (which works on every supported Node) takes its place;
 * when they chose thread placement but not the strategy, reuseport does where it can. What
 * the user asked for explicitly is left alone, for `preflight` to refuse with the reason.
 */
export const fitToNode = (
  config: ResolvedConfig,
  sources: Readonly<Partial<Record<ConfigKey, string>>>,
): Fitted => {
  if (config.strategy !== 'handoff' || config.placement !== 'thread' || threadHandoffSupported())
    return { config }
  const why = `thread handoff needs Node >= 26.6, this is ${process.version}`
  if (sources.placement === 'default')
    return { config: { ...config, placement: 'process' }, note: `process placement: ${why}` }
  if (sources.strategy === 'default' && reuseportPossible(config))
    return { config: { ...config, strategy: 'reuseport' }, note: `reuseport strategy: ${why}` }
  return { config }
}

/** Throws the first reason `config` (and `app`, when loaded) cannot be served. */
export const preflight = (config: ResolvedConfig, app?: ResolvedApp): void => {
  for (const [i, b] of config.bind.entries()) parseBind(b, `bind[${i}]`)
  assertProxyListeners(config)
  if (config.strategy === 'handoff' && config.placement === 'thread' && !threadHandoffSupported())
    throw new PlacementUnsupportedError(
      `--strategy handoff with --placement thread needs Node >= 26.6 (this is ${process.version}); use --placement process, or --strategy reuseport`,
    )
  if (config.strategy === 'reuseport') {
    if (process.platform !== 'linux')
      throw new PlacementUnsupportedError(`--strategy reuseport needs Linux; use --strategy handoff`)
    const unix = [...config.bind, ...config.uwsgi].find((b) => b.startsWith('unix:'))
    if (unix)
      throw new PlacementUnsupportedError(
        `--strategy reuseport cannot share ${unix} (SO_REUSEPORT is for TCP); use --strategy handoff for Unix sockets`,
      )
  }
  if (config.accessLog !== null && config.accessLog !== '-') assertAppendable(config.accessLog)
  assertTls(config)
  if (app) assertKindFits(app, config.kind)
}

/**
 * PROXY protocol is a listener's: each entry must name a TCP listener of bind or uwsgi, as
 * given there (a Unix socket's peer is a local process, which has no load balancer to speak for).
 */
const assertProxyListeners = (config: ResolvedConfig): void => {
  const listeners = new Set([...config.bind, ...config.uwsgi])
  for (const [i, name] of config.proxyProtocol.entries()) {
    if (!listeners.has(name))
      throw new ConfigError(
        `proxyProtocol[${i}]: "${name}" is not one of the listeners (bind: ${config.bind.join(', ')}${config.uwsgi.length ? `; uwsgi: ${config.uwsgi.join(', ')}` : ''}); name it as given there`,
      )
    if (name.startsWith('unix:'))
      throw new ConfigError(
        `proxyProtocol[${i}]: "${name}" is a Unix socket; the PROXY protocol is for TCP listeners`,
      )
  }
}

/**
 * Every worker opens the access log itself: a path none could open is refused here, in one
 * line, rather than as each worker's failed start. Checked without creating the file (`check`
 * runs this too).
 */
const assertAppendable = (file: string): void => {
  let exists = true
  try {
    exists = !statSync(file).isDirectory()
    if (!exists) throw new ConfigError(`accessLog: ${file} is a directory`)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    exists = false
  }
  try {
    accessSync(exists ? file : dirname(file), constants.W_OK)
  } catch (error) {
    throw new ConfigError(
      `accessLog: cannot append to ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    )
  }
}

/**
 * What a reload cannot change while serving. Switching strategy would need the master's
 * listeners and the workers' SO_REUSEPORT ones bound to the same port at once, which the
 * kernel refuses (or, were the master's listeners SO_REUSEPORT too, would let a second troupe
 * share the port by mistake): it takes a restart.
 */
export const preflightReload = (current: ResolvedConfig, next: ResolvedConfig): void => {
  if (next.strategy !== current.strategy)
    throw new ConfigError(
      `strategy cannot change on reload (${current.strategy} → ${next.strategy}); restart troupe to switch`,
    )
}

const appCheckEntry = import.meta.url.endsWith('.ts')
  ? new URL('./app-check.ts', import.meta.url)
  : new URL('./app-check.js', import.meta.url)

/**
 * The app part of `preflight` for a reload, run in a short-lived thread (see app-check.ts):
 * the app at `url` loads and fits `config.kind`, or the coded error says why. Bounded by
 * `config.timeout`, as a worker's start is by its heartbeat.
 */
export const preflightApp = (url: string, config: ResolvedConfig): Promise<ResolvedApp['style']> =>
  new Promise((resolve, reject) => {
    const data: AppCheckData = { url, kind: config.kind }
    const thread = new Worker(appCheckEntry, { workerData: data })
    const limitMs = ms(config.timeout)
    const timer = setTimeout(() => {
      void thread.terminate()
      reject(new AppLoadError(`app module ${appFile(url)} did not finish loading within ${limitMs} ms`))
    }, limitMs)
    const settle = (error?: Error, style: ResolvedApp['style'] = 'fetch') => {
      clearTimeout(timer)
      void thread.terminate()
      if (error) reject(error)
      else resolve(style)
    }
    thread.once('message', (answer: { ok: boolean; style?: ResolvedApp['style']; error?: SerializedError }) =>
      settle(answer.ok ? undefined : deserializeError(answer.error!), answer.style),
    )
    thread.once('error', (error: Error) =>
      settle(new AppLoadError(`checking the app failed: ${error.message}`, { cause: error })),
    )
    thread.once('exit', (code) =>
      settle(new AppLoadError(`checking the app failed: its thread exited (${code})`)),
    )
  })

/**
 * An https:// bind needs a certificate and its key, readable and matching: refused here in one
 * line naming the option, at start-up and on a reload (the old generation keeps serving),
 * rather than as each worker's failed start or each client's failed handshake.
 */
const assertTls = (config: ResolvedConfig): void => {
  const https = config.bind.find((b) => b.startsWith('https://'))
  if (https === undefined) return
  if (config.certfile === null || config.keyfile === null)
    throw new ConfigError(
      `bind ${https} serves TLS: set certfile and keyfile (--certfile FILE --keyfile FILE)`,
    )
  const read = (option: 'certfile' | 'keyfile' | 'caCerts', file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (error) {
      throw new ConfigError(
        `${option}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        {
          cause: error,
        },
      )
    }
  }
  const cert = read('certfile', config.certfile)
  const key = read('keyfile', config.keyfile)
  const ca = config.caCerts === null ? undefined : read('caCerts', config.caCerts)
  try {
    tlsContext({ cert, key, ca, minVersion: config.tlsMinVersion, ciphers: config.ciphers })
  } catch (error) {
    throw new ConfigError(
      `certfile ${config.certfile} and keyfile ${config.keyfile}${ca ? ` (with caCerts ${config.caCerts})` : ''} do not make a TLS context: ${(error as Error).message}`,
      { cause: error },
    )
  }
}
