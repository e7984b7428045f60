/** The servers scenarios compare, as command lines: troupe in its combinations, and the peers. */
import { NODE } from '../runner.ts'
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
