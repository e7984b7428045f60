/**
 * The worker's HTTP server fed in-process sockets: a net.Server on a temp-dir Unix socket
 * hands each accepted connection to WorkerServer.accept, as the acceptor's handoff does, and
 * a real HTTP client speaks to it. No worker thread, no master.
 */
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { WorkerArgs } from '../actors/http-worker/worker-protocol.ts'
import { type Engine, WorkerServer } from '../actors/http-worker/worker-server.ts'
import { BodyTooLargeError } from '../transports/http/http-fetch.ts'
import { eventually } from './support/manual-clock.ts'

const args: WorkerArgs = {
  app: 'file:///unused.mjs',
  kind: 'coroutine',
  threads: 1,
  threadQueue: 16,
  connections: 10,
  maxQueueDelayMs: 0,
  timeoutMs: 5_000,
  keepAliveMs: 5_000,
  headersTimeoutMs: 5_000,
  maxHeaderSize: 16_384,
  maxHeaders: 100,
  maxBodySize: 1_024,
  uwsgi: { maxVarsSize: 65_535, maxVars: 164 },
  proxyAllowFrom: ['127.0.0.1', '::1'],
  forwardedAllowIps: ['127.0.0.1', '::1'],
  maxRequests: 0,
  drainIdleMs: 50,
  generation: 1,
  actorsPath: '/troupe/actors',
  log: { format: 'text', level: 'info', name: null },
  http2: { tls: true, cleartext: false, maxConcurrentStreams: 100 },
}

interface Fed {
  readonly server: WorkerServer
  readonly socketPath: string
  readonly appErrors: Array<{ error: unknown; method: string | undefined; url: string | undefined }>
}

/** A WorkerServer whose connections come from a listener on a temp Unix socket. */
const feed = async (engine: Engine, overrides: Partial<WorkerArgs> = {}): Promise<Fed> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-ws-'))
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  const appErrors: Fed['appErrors'] = []
  const server = new WorkerServer({ ...args, ...overrides }, engine, {
    onChange: () => {},
    onAppError: (error, req) => appErrors.push({ error, method: req.method, url: req.url }),
  })
  const socketPath = path.join(dir, 'in.sock')
  const listener = net.createServer({ pauseOnConnect: true }, (socket) => server.accept(socket))
  await new Promise<void>((resolve) => listener.listen(socketPath, resolve))
  onTestFinished(async () => {
    server.http.close()
    server.http.closeAllConnections()
    await new Promise((resolve) => listener.close(resolve))
  })
  return { server, socketPath, appErrors }
}

interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

const request = (socketPath: string, options: http.RequestOptions & { body?: string } = {}): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: '/', ...options }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(options.body)
  })

const hello: Engine = async (req, res) => {
  res.setHeader('content-type', 'text/plain')
  res.end(`hello ${req.method} ${req.url}\n`)
}

/** 2 ms of CPU per request: ten at once queue up to 18 ms in one turn of the loop. */
const busy: Engine = async (req, res, request) => {
  const until = performance.now() + 2
  while (performance.now() < until) {}
  await hello(req, res, request)
}

describe('WorkerServer, fed an in-process socket', () => {
  it('answers over the handed connection and keeps it alive; the counters follow', async () => {
    const { server, socketPath } = await feed(hello)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    onTestFinished(() => agent.destroy())
    expect(await request(socketPath, { agent, path: '/a' })).toMatchObject({
      status: 200,
      body: 'hello GET /a\n',
    })
    const second = await request(socketPath, { agent, path: '/b', method: 'POST', body: 'x' })
    expect(second).toMatchObject({ status: 200, body: 'hello POST /b\n' })
    expect(second.headers.connection).toBe('keep-alive')
    expect(server.info()).toMatchObject({ requests: 2, connections: 1, inflight: 0, closed: 0 })
  })

  it('an app error carrying status 413 is answered 500, and handed to onAppError with its request', async () => {
    const failure = Object.assign(new Error('x'), { status: 413 })
    const { socketPath, appErrors } = await feed(async () => {
      throw failure
    })
    const reply = await request(socketPath, { path: '/cart?id=3' })
    expect(reply).toMatchObject({ status: 500, body: 'Internal Server Error\n' })
    expect(reply.headers.connection).toBe('close')
    expect(appErrors).toEqual([{ error: failure, method: 'GET', url: '/cart?id=3' }])
  })

  it('troupe’s own body-limit error is answered 413, and is not an app failure', async () => {
    const { socketPath, appErrors } = await feed(async () => {
      throw new BodyTooLargeError('request body over 1024 bytes')
    })
    const reply = await request(socketPath, { method: 'POST', body: 'small' })
    expect(reply).toMatchObject({ status: 413, body: 'Content Too Large\n' })
    expect(appErrors).toEqual([])
  })

  it('refuses a declared body over maxBodySize with 413 before the engine runs', async () => {
    let ran = 0
    const { socketPath } = await feed(async (req, res, inFlight) => {
      ran++
      await hello(req, res, inFlight)
    })
    const reply = await request(socketPath, { method: 'POST', body: 'y'.repeat(2_000) })
    expect(reply.status).toBe(413)
    expect(ran).toBe(0)
  })

  it('sheds past `connections` requests in flight with 503 and Retry-After', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const { server, socketPath } = await feed(
      async (req, res, inFlight) => {
        await held
        await hello(req, res, inFlight)
      },
      { connections: 1 },
    )
    const first = request(socketPath, { path: '/held' })
    await eventually(() => server.info().inflight === 1, 5_000, 'the first request in flight')
    const shed = await request(socketPath, { path: '/more' })
    expect(shed.status).toBe(503)
    expect(shed.headers['retry-after']).toBe('1')
    release()
    expect((await first).status).toBe(200)
  })

  it('maxQueueDelay: a burst is served whole; a standing queue is shed with 503 and Retry-After, then served again', async () => {
    const { server, socketPath } = await feed(busy, { maxQueueDelayMs: 5 })
    // Kept-alive connections, so that a round's requests reach the worker together, in one turn.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 40 })
    onTestFinished(() => agent.destroy())
    const round = (n: number) => Promise.all(Array.from({ length: n }, () => request(socketPath, { agent })))
    await round(40)
    // 10 × 2 ms: a queue of 18 ms that is gone within the interval (50 ms) is served whole.
    expect((await round(10)).map((r) => r.status)).toEqual(new Array(10).fill(200))
    // 40 × 2 ms: the queue stands past the interval; the rest of it is shed at once.
    const flood = await round(40)
    const shed = flood.find((r) => r.status === 503)
    expect(shed).toMatchObject({ status: 503, body: 'Service Unavailable: this worker is overloaded\n' })
    expect(shed!.headers['retry-after']).toBe('1')
    // What was served was served within the interval and a request's time of it.
    expect(flood.filter((r) => r.status === 200).length).toBeLessThan(40)
    expect(server.info().shed).toBe(flood.filter((r) => r.status === 503).length)
    // The queue gone, the next request is served.
    expect((await request(socketPath, { agent })).status).toBe(200)
  })

  it('maxQueueDelay 0 (the default) never sheds a queue', async () => {
    const { server, socketPath } = await feed(busy)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 })
    onTestFinished(() => agent.destroy())
    for (let i = 0; i < 15; i++) {
      const replies = await Promise.all(Array.from({ length: 10 }, () => request(socketPath, { agent })))
      expect(replies.map((r) => r.status)).toEqual(new Array(10).fill(200))
    }
    expect(server.info().shed).toBe(0)
  })

  it('draining: a keep-alive client gets Connection: close on its next answer, then the socket closes', async () => {
    const { server, socketPath } = await feed(hello)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    onTestFinished(() => agent.destroy())
    expect((await request(socketPath, { agent })).headers.connection).toBe('keep-alive')
    const drained = server.drain(5_000)
    const last = await request(socketPath, { agent, path: '/last' })
    expect(last.headers.connection).toBe('close')
    await drained
    expect(server.info()).toMatchObject({ connections: 0, draining: true })
  })
})
