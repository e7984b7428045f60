/**
 * The load a fault runs under: wrk against a server's port for a fixed time, started in the
 * background so that the fault can be done to the server meanwhile. Failed requests are what
 * wrk saw fail: socket errors (connect, read, write, timeout) and unexpected statuses.
 */
import http from 'node:http'
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

export interface Probed {
  readonly status: number
  readonly body: string
  /** From sending to the whole answer, ms. */
  readonly ms: number
  /** When it was sent (performance.now()). */
  readonly at: number
}

/** One GET on a connection of its own: its status (0: no answer) and body, within `timeoutMs`. */
export const probeOnce = (port: number, path = '/', timeoutMs = 5_000): Promise<Probed> => {
  const at = performance.now()
  return new Promise((resolve) => {
    const done = (status: number, body: string) => resolve({ status, body, ms: performance.now() - at, at })
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => done(res.statusCode ?? 0, body))
      res.on('error', (error) => done(0, error.message))
    })
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer in ${timeoutMs} ms`)))
    request.on('error', (error) => done(0, error.message))
  })
}

/**
 * Probes in rounds `gapMs` apart until `stop()`, `atOnce` at the same time each round (each on
 * its own connection, so the balancer spreads them); resolves to every answer.
 */
export const probeLoop = (port: number, path = '/', gapMs = 20, atOnce = 1) => {
  let running = true
  const answers: Probed[] = []
  const done = (async () => {
    while (running) {
      answers.push(...(await Promise.all(Array.from({ length: atOnce }, () => probeOnce(port, path)))))
      await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
    return answers
  })()
  return {
    answers,
    stop: () => {
      running = false
      return done
    },
  }
}
