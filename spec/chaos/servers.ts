/**
 * The servers a fault runs: troupe as the package ships it (dist/cli.js, JSON logs, a control
 * socket of its own), and the peers users would run instead (PM2 7 cluster mode, gunicorn),
 * from the bench's catalogue. What troupe logged comes back as events; its control API is
 * reached as a script would (`connect`).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import type { RemoteMaster } from '../../runtime/master/control/connect.ts'
import { launchNginx } from '../bench/nginx-launch.ts'
import { type Launched, launch, NODE, stop } from '../bench/runner.ts'
import type { Contender } from '../bench/scenarios/compare.ts'
import { nginxPath } from '../support/nginx-config.ts'
import { ensurePackages } from '../support/packages.ts'

export interface TroupeChaos {
  readonly name: string
  /** `serve` flags after the app (`--workers 2 --placement process`…). */
  readonly flags: readonly string[]
  /** The app: absolute, or relative to spec/chaos/ (default: the bench's plain-JS hello). */
  readonly app?: string
  /** CPUs to pin the whole tree to (`taskset -c`), for a capacity that holds still. */
  readonly pin?: string
}

export interface Running {
  readonly launched: Launched
  readonly port: number
  readonly pid: number
  /** The control socket (troupe only). */
  readonly control?: string
  /** troupe's log records so far (JSON lines), parsed. */
  events(): LogEvent[]
  stop(): Promise<void>
}

export interface LogEvent {
  readonly event?: string
  readonly msg: string
  /** Epoch ms. */
  readonly at: number
  readonly worker?: string
  readonly level?: string
  readonly [key: string]: unknown
}

/** The JSON records in a log; other lines are skipped. */
export const parseEvents = (log: string): LogEvent[] => {
  const events: LogEvent[] = []
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const record = JSON.parse(line) as Record<string, unknown>
      events.push({ ...record, msg: String(record.msg ?? ''), at: Date.parse(String(record.time)) })
    } catch {}
  }
  return events
}

export const troupeArgv = (server: TroupeChaos, control: string): string[] => [
  ...(server.pin ? ['taskset', '-c', server.pin] : []),
  NODE,
  'dist/cli.js',
  'serve',
  server.app === undefined
    ? 'spec/bench/hello-built.mjs'
    : isAbsolute(server.app)
      ? server.app
      : `spec/chaos/${server.app}`,
  '--bind',
  '127.0.0.1:0',
  '--log-format',
  'json',
  '--control',
  control,
  ...server.flags,
]

/** Starts troupe (dist/ must be built) and resolves once it serves. */
export const startTroupe = async (server: TroupeChaos): Promise<Running> => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-chaos-'))
  const control = join(dir, 'control.sock')
  try {
    const launched = await launch(troupeArgv(server, control), 60_000)
    return {
      launched,
      port: launched.port,
      pid: launched.pid,
      control,
      events: () => parseEvents(launched.log()),
      stop: async () => {
        await stop(launched, server.name)
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/** Starts a peer from the bench's catalogue (its launcher prints the serving line). */
export const startPeer = async (peer: Contender): Promise<Running> => {
  const launched = await launch(peer.argv, 60_000)
  return {
    launched,
    port: launched.port,
    pid: launched.pid,
    events: () => [],
    stop: () => stop(launched, peer.name),
  }
}

/** Why nginx cannot run here (after installing Debian's nginx-light as root), or undefined. */
export const nginxMissing = (): string | undefined =>
  ensurePackages(['nginx-light'], () => nginxPath() !== undefined) ?? undefined

/**
 * nginx as a server in its own right (`return 200` of hello, its timeouts at their defaults),
 * `workers` worker processes, everything it writes in a temp directory.
 */
export const startNginx = async (workers: number): Promise<Running> => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-chaos-nginx-'))
  try {
    const launched = await launchNginx(dir, (port) => ({
      workers,
      site: `server {\n  listen 127.0.0.1:${port};\n  location / { return 200 "hello world\\n"; }\n}`,
    }))
    return {
      launched,
      port: launched.port,
      pid: launched.pid,
      events: () => [],
      stop: async () => {
        await stop(launched, 'nginx')
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/** A master's control API by its socket, as a script reaches it. */
export const controlOfSocket = async (control: string): Promise<RemoteMaster> => {
  const { connect } = await import('../../runtime/master/control/connect.ts')
  return connect({ control })
}

/** The running troupe's control API. */
export const controlOf = (running: Running): Promise<RemoteMaster> => controlOfSocket(running.control!)
