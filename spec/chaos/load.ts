/**
 * The load a fault runs under: wrk against a server's port for a fixed time, started in the
 * background so that the fault can be done to the server meanwhile. Failed requests are what
 * wrk saw fail: socket errors (connect, read, write, timeout) and unexpected statuses.
 */
import { errorsOf, type WrkRun, wrk } from '../bench/runner.ts'

export interface LoadShape {
  readonly port: number
  readonly seconds: number
  readonly connections: number
  /** `Connection: close` on every request: a connection per request. */
  readonly close?: boolean
  readonly path?: string
}

export interface LoadResult {
  readonly sent: number
  readonly failed: number
  readonly run: WrkRun
}

export const wrkArgv = (shape: LoadShape): string[] => [
  'wrk',
  '-t1',
  `-c${shape.connections}`,
  `-d${shape.seconds}s`,
  '--timeout',
  '5s',
  ...(shape.close ? ['-H', 'Connection: close'] : []),
  `http://127.0.0.1:${shape.port}${shape.path ?? '/'}`,
]

/** Starts the load; resolves when wrk has finished and said what it saw. */
export const startLoad = (shape: LoadShape): Promise<LoadResult> =>
  wrk(wrkArgv(shape), shape.seconds).then((run) => ({ sent: run.requests, failed: errorsOf(run), run }))

export const describeLoad = (shape: Omit<LoadShape, 'port' | 'seconds'>) =>
  `${shape.close ? '`Connection: close`' : 'keep-alive'}, ${shape.connections} connections`
