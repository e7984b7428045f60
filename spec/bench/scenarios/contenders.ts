/** The servers scenarios compare, as command lines: troupe in its combinations, and the peers. */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ensurePackages } from '../../support/packages.ts'
import { NODE, root } from '../runner.ts'
import type { Contender } from './compare.ts'

export type Placement = 'thread' | 'process'
export type Kind = 'coroutine' | 'thread-pool'

export interface TroupeShape {
  /** A file under spec/bench/ (hello-fetch.ts, hello-node.ts…). */
  readonly app: string
  readonly workers?: number
  readonly placement?: Placement
  readonly kind?: Kind
  readonly threads?: number
  readonly strategy?: 'handoff' | 'reuseport'
  readonly extra?: readonly string[]
}

export const troupe = (name: string, shape: TroupeShape): Contender => ({
  name,
  argv: [
    NODE,
    'runtime/master/cli.ts',
    'serve',
    `spec/bench/${shape.app}`,
    '--bind',
    '127.0.0.1:0',
    '--workers',
    String(shape.workers ?? 1),
    '--placement',
    shape.placement ?? 'thread',
    '--kind',
    shape.kind ?? 'coroutine',
    ...(shape.kind === 'thread-pool'
      ? // A queue deep enough for wrk's connections: this measures throughput, not shedding.
        ['--threads', String(shape.threads ?? 1), '--thread-queue', '256']
      : []),
    ...(shape.strategy ? ['--strategy', shape.strategy] : []),
    ...(shape.extra ?? []),
  ],
})

/**
 * troupe as the package ships it (dist/cli.js, what `npx troupe` runs; build it first), not from
 * its TypeScript sources, serving a plain-JS app: with neither, no thread or process starts
 * Node's type stripper. Paths are absolute, so it may start from any directory.
 */
export const shippedTroupe = (name: string, shape: TroupeShape): Contender => {
  const { argv } = troupe(name, shape)
  const absolute = (a: string) => (a === NODE || a.startsWith('spec/') ? resolve(root, a) : a)
  return {
    name,
    argv: argv.map((a) => (a === 'runtime/master/cli.ts' ? join(root, 'dist/cli.js') : absolute(a))),
  }
}

/** A one-process peer in spec/bench/ that takes `--bind` and prints its serving line. */
const peer = (name: string, file: string, extra: readonly string[] = []): Contender => ({
  name,
  argv: [NODE, `spec/bench/${file}`, '--bind', '127.0.0.1:0', ...extra],
})

export const bareNode = peer('bare node:http', 'bare-http.ts')
export const hono = peer('@hono/node-server', 'peer-hono.ts')
export const srvx = peer('srvx', 'peer-srvx.ts')
export const cluster = (workers: number): Contender =>
  peer(`node:cluster ×${workers}`, 'cluster-hello.ts', ['--workers', String(workers)])
/** node:cluster in plain JavaScript serving hello-built.mjs: beside shippedTroupe. */
export const shippedCluster = (workers: number): Contender => ({
  name: `node:cluster ×${workers} (plain JS)`,
  argv: [NODE, 'spec/bench/cluster-built.mjs', '--workers', String(workers)],
})

const pm2Version = ((): string | undefined => {
  try {
    return JSON.parse(readFileSync(`${root}node_modules/pm2/package.json`, 'utf8')).version
  } catch {
    return undefined
  }
})()

/** PM2 in cluster mode, `instances` copies of the hello `(req, res)` app (peer-pm2.ts). */
export const pm2 = (instances: number): Contender => ({
  name: `PM2${pm2Version ? ` ${pm2Version}` : ''} cluster mode ×${instances}`,
  argv: [NODE, 'spec/bench/peer-pm2.ts', '--instances', String(instances)],
  missing: pm2Version ? undefined : 'pm2 is not installed (a devDependency: npm install)',
})

// ---------------------------------------------------------------------------------------
// The Python servers troupe descends from, serving hello_wsgi.py, through on-free-port.ts
// (they cannot bind port 0, and announce themselves each in their own words).

/**
 * A server behind on-free-port.ts: ready once `workers` lines of its output match `booted`
 * and its port answers; `{PORT}` in `command` is the port it picks.
 */
const onFreePort = (
  name: string,
  label: string,
  booted: string,
  workers: number,
  command: readonly string[],
  missing: string | undefined,
): Contender => ({
  name,
  argv: [
    NODE,
    'spec/bench/on-free-port.ts',
    '--name',
    label,
    '--booted',
    booted,
    '--workers',
    String(workers),
    '--',
    ...command,
  ],
  missing,
})

const runs = (argv: readonly string[]) => spawnSync(argv[0]!, argv.slice(1)).status === 0

/** Why gunicorn cannot run here (after installing it as root), or undefined when it can. */
export const gunicornMissing = (): string | undefined =>
  ensurePackages(['gunicorn'], () => runs(['gunicorn', '--version'])) ?? undefined

/** Why uWSGI with its python3 plugin cannot run here (after installing them as root), or undefined. */
export const uwsgiMissing = (): string | undefined =>
  ensurePackages(
    ['uwsgi', 'uwsgi-plugin-python3'],
    () => runs(['uwsgi', '--version']) && existsSync('/usr/lib/uwsgi/plugins/python3_plugin.so'),
  ) ?? undefined

/** gunicorn with `workers` sync workers, or gthread workers of `threads` threads each. */
export const gunicorn = (workers: number, threads: number | undefined, missing: string | undefined) =>
  onFreePort(
    `gunicorn ${threads ? `gthread ×${workers} (${threads} threads each)` : `sync ×${workers}`}`,
    'gunicorn',
    'Booting worker with pid',
    workers,
    [
      'gunicorn',
      '--chdir',
      'spec/bench',
      '--workers',
      String(workers),
      ...(threads ? ['--worker-class', 'gthread', '--threads', String(threads)] : []),
      '--bind',
      '127.0.0.1:{PORT}',
      'hello_wsgi:application',
    ],
    missing,
  )

/**
 * uWSGI with `processes` worker processes (and its master), speaking HTTP itself: with
 * `--http-socket`, a connection per request; with `keepAlive`, `--http11-socket`, its
 * keep-alive variant.
 */
export const uwsgi = (processes: number, missing: string | undefined, keepAlive = false) =>
  onFreePort(
    `uWSGI ${keepAlive ? '--http11-socket' : '--http-socket'} ×${processes}`,
    'uwsgi',
    'spawned uWSGI worker \\d+',
    processes,
    [
      'uwsgi',
      '--plugin',
      'python3',
      keepAlive ? '--http11-socket' : '--http-socket',
      '127.0.0.1:{PORT}',
      // --http-socket closes every connection after its response without saying so, which wrk
      // counts as a read error per request; saying it makes it a clean close, as gunicorn's sync
      // workers send.
      ...(keepAlive ? [] : ['--add-header', 'Connection: close']),
      '--processes',
      String(processes),
      '--wsgi-file',
      'spec/bench/hello_wsgi.py',
      '--master',
      '--need-app',
      // Without it SIGTERM reloads uWSGI instead of stopping it.
      '--die-on-term',
      '--disable-logging',
    ],
    missing,
  )
