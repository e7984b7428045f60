/**
 * One HTTP behaviour suite, run against all four worker combinations (thread/process ×
 * coroutine/threads), on real sockets.
 */
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { rawConnection, rawExchange } from './support/raw-connection.ts'
import { serve } from './support/serve.ts'

const combos = [
  ['thread', 'coroutine'],
  ['process', 'coroutine'],
  ['thread', 'thread-pool'],
  ['process', 'thread-pool'],
] as const

const statuses = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]))

describe.each(combos)('%s placement, %s kind', (placement, kind) => {
  const start = (flags: Record<string, unknown> = {}) =>
    serve('behaviour-app.ts', { placement, kind, threads: 2, ...flags })

  it('serves requests, and keeps the connection alive across them', async () => {
    const { base } = await start()
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const ports = new Set<number>()
    for (let i = 0; i < 5; i++) {
      const res = await new Promise<http.IncomingMessage>((resolve) =>
        http.get(`${base}/hello`, { agent }, resolve),
      )
      ports.add(res.socket.localPort!)
      let body = ''
      for await (const chunk of res) body += chunk
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('text/plain')
      expect(body).toBe('hello\n')
    }
    agent.destroy()
    expect(ports.size).toBe(1)
  })

  it('answers pipelined requests in order', async () => {
    const { port } = await start()
    const signals = handlerSignals()
    const connection = rawConnection(port)
    // The first is held until the two after it reached the app: answered in order, it comes first anyway.
    connection.socket.write(
      `GET /slow?ms=0&${signals.held} HTTP/1.1\r\nHost: x\r\n\r\n` +
        `GET /hello?${signals.started} HTTP/1.1\r\nHost: x\r\n\r\n` +
        `GET /nope?${signals.started} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    )
    await signals.waitStarted(3)
    expect(connection.received).toBe('')
    signals.open()
    await connection.closed
    const text = connection.received
    expect(statuses(text)).toEqual([200, 200, 404])
    expect(text.indexOf('slept 0')).toBeGreaterThan(0)
    expect(text.indexOf('slept 0')).toBeLessThan(text.indexOf('hello'))
    expect(text.indexOf('hello')).toBeLessThan(text.indexOf('not found'))
  })

  it('echoes request bodies, and refuses one over the body limit with 413', async () => {
    const { base } = await start({ maxBodySize: 1_000 })
    const ok = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(1_000) })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toBe('x'.repeat(1_000))
    const tooBig = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(1_001) })
    expect(tooBig.status).toBe(413)
    // Chunked (no Content-Length): refused as it streams in.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(100)))
        controller.close()
      },
    })
    const chunked = await fetch(`${base}/echo`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    expect((await fetch(`${base}/hello`)).status).toBe(200)
  })

  it('answers 413 to an oversized upload while the client is still sending it, and lets it read the answer', async () => {
    const { port } = await start({ maxBodySize: 1_000 })
    const declared = 10 * 1024 * 1024 * 1024
    const socket = net.connect(port, '127.0.0.1')
    onTestFinished(() => {
      socket.destroy()
    })
    let error: Error | undefined
    socket.on('error', (e) => {
      error = e
    })
    await once(socket, 'connect')
    // A client busy sending, as one piping a file is: it does not stop to read, the answer
    // just lands in its buffer. 10 GiB are far from sent when it comes.
    socket.pause()
    socket.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`)
    const chunk = Buffer.alloc(64 * 1024, 'x')
    let sent = 0
    const send = () =>
      new Promise<void>((resolve) =>
        socket.write(chunk, () => {
          sent += chunk.length
          resolve()
        }),
      )
    while (socket.readableLength === 0 && !error && !socket.destroyed) await send()
    const sentWhenAnswered = sent
    // What it still had on the way (4 MiB) must not get the connection reset under it: a client
    // whose write fails (EPIPE, ECONNRESET) gives up before it reads the 413.
    for (let i = 0; i < 64 && !error && !socket.destroyed; i++) await send()
    expect(error).toBeUndefined()
    expect(sentWhenAnswered).toBeLessThan(declared)
    let text = ''
    socket.on('data', (data) => {
      text += data
    })
    socket.resume()
    await eventually(() => text.includes('Content Too Large'), 5_000, 'the whole 413')
    expect(statuses(text)).toEqual([413])
    expect(text).toMatch(/^connection: close\r\n/im)
  })

  it('refuses too many headers and an oversized head with 431, closing the connection', async () => {
    const { port, base } = await start({ maxHeaders: 10, maxHeaderSize: 2_048 })
    const many = Array.from({ length: 11 }, (_, i) => `X-H${i}: v\r\n`).join('')
    expect(statuses(await rawExchange(port, `GET /hello HTTP/1.1\r\nHost: x\r\n${many}\r\n`))).toEqual([431])
    const huge = `GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(4_000)}\r\n\r\n`
    expect(statuses(await rawExchange(port, huge))).toEqual([431])
    expect((await fetch(`${base}/hello`)).status).toBe(200)
  })

  it('answers 504 to a request past its timeout, and keeps serving', async () => {
    // Three seconds, not one: the heartbeat timeout is the same, and it runs from spawn, so a
    // worker whose start-up a loaded machine slows down must not be killed before it is ready.
    const { base } = await start({ timeout: 3 })
    const began = Date.now()
    const res = await fetch(`${base}/slow?ms=10000`)
    expect(res.status).toBe(504)
    expect(Date.now() - began).toBeGreaterThanOrEqual(2_950)
    expect(Date.now() - began).toBeLessThan(8_000)
    expect((await fetch(`${base}/hello`)).status).toBe(200)
  })

  it('sheds load past its concurrency limit with 503 and Retry-After', async () => {
    const { base } = await start({ connections: 1, threads: 1 })
    const signals = handlerSignals()
    const slow = fetch(`${base}/slow?ms=0&${signals.held}`)
    slow.catch(() => {})
    await signals.waitStarted()
    const shed = await fetch(`${base}/hello`)
    expect(shed.status).toBe(503)
    expect(shed.headers.get('retry-after')).toBe('1')
    signals.open()
    expect((await slow).status).toBe(200)
    expect((await fetch(`${base}/hello`)).status).toBe(200)
  })

  it('answers 500 when the app throws, and the worker lives on', async () => {
    const { base, server } = await start()
    expect((await fetch(`${base}/throw`)).status).toBe(500)
    expect((await fetch(`${base}/hello`)).status).toBe(200)
    const workers = server.tree().children!.find((c) => c.name === 'workers')!
    expect(workers.children!.map((w) => w.restarts)).toEqual([0])
  })

  it('passes repeated Set-Cookie headers through', async () => {
    const { base } = await start()
    const res = await fetch(`${base}/cookies`)
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
  })

  it('answered while its body still trickles in: the rest gets a second, then the connection closes', async () => {
    // The thread-pool kind reads a body whole before its handler runs: it answers at the timeout (504).
    const { port } = await start({ timeout: 2 })
    const status = kind === 'thread-pool' ? 504 : 200
    const connection = rawConnection(port)
    // A 1 MB upload announced, then a byte at a time: the app answers without reading it.
    connection.socket.write('POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nx')
    const trickle = setInterval(() => connection.socket.writable && connection.socket.write('x'), 100)
    onTestFinished(() => clearInterval(trickle))
    await eventually(() => statuses(connection.received).length === 1)
    const answered = Date.now()
    await connection.closed
    expect(statuses(connection.received)).toEqual([status])
    // Without the limit node:http would read the body for as long as the client keeps sending.
    expect(Date.now() - answered).toBeLessThan(5_000)
  })

  it('answers 408 and closes a connection whose client is too slow to send its headers', async () => {
    const { port } = await start({ headersTimeout: 1 })
    const connection = rawConnection(port)
    connection.socket.write('GET /hello HTTP/1.1\r\nHost: x\r\n')
    const began = Date.now()
    await connection.closed
    const text = connection.received
    expect(Date.now() - began).toBeGreaterThanOrEqual(900)
    expect(Date.now() - began).toBeLessThan(5_000)
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(statuses(text)).toEqual([408])
  })
})

describe('coroutine kind', () => {
  it('leaves a response that is already streaming to finish past the request timeout', async () => {
    const { base } = await serve('behaviour-app.ts', { timeout: 2 })
    const res = await fetch(`${base}/stream?ms=4000`)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text.split('\n').filter(Boolean)).toHaveLength(10)
  })

  it("aborts the handler's AbortSignal when its request times out", async () => {
    const { base } = await serve('behaviour-app.ts', { timeout: 2 })
    expect((await fetch(`${base}/slow?ms=8000`)).status).toBe(504)
    expect(await (await fetch(`${base}/aborted`)).text()).toBe('1')
  })
})

describe.each(['thread', 'process'] as const)('over a Unix socket, %s placement', (placement) => {
  it('serves keep-alive requests and bodies (threads get the bytes relayed by the master)', async () => {
    const { mkdtempSync, rmSync, statSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(`${tmpdir()}/troupe-`)
    const { onTestFinished } = await import('vitest')
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const socketPath = `${dir}/app.sock`
    await serve('behaviour-app.ts', { placement, bind: [`unix:${socketPath}`], socketMode: '600' })
    expect(statSync(socketPath).mode & 0o777).toBe(0o600)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const request = (path: string, body?: string) =>
      new Promise<{ status: number; text: string; connection: string | undefined }>((resolve, reject) => {
        const req = http.request({ socketPath, path, method: body ? 'POST' : 'GET', agent }, async (res) => {
          let text = ''
          for await (const chunk of res) text += chunk
          resolve({ status: res.statusCode!, text, connection: res.headers.connection })
        })
        req.on('error', reject)
        req.end(body)
      })
    expect(await request('/hello')).toEqual({ status: 200, text: 'hello\n', connection: 'keep-alive' })
    // Bigger than the relay's window both ways: flow control, not buffering, carries it.
    const big = 'z'.repeat(4 * 1024 * 1024)
    expect((await request('/echo', big)).text).toBe(big)
    expect((await request('/nope')).status).toBe(404)
    agent.destroy()
  })
})

describe('thread-pool kind', () => {
  it('runs `threads` requests, queues `threadQueue` more, and answers 503 with Retry-After past that', async () => {
    const { base } = await serve('behaviour-app.ts', {
      kind: 'thread-pool',
      threads: 1,
      threadQueue: 4,
      connections: 100,
    })
    const signals = handlerSignals()
    // All ten are held until the gate opens: one runs, four wait, five are shed.
    const shed: Array<{ status: number; retry: string | null }> = []
    const results = Array.from({ length: 10 }, () =>
      fetch(`${base}/slow?ms=0&${signals.held}`, { headers: { connection: 'close' } }).then((r) => {
        const result = { status: r.status, retry: r.headers.get('retry-after') }
        if (r.status === 503) shed.push(result)
        return result
      }),
    )
    for (const result of results) result.catch(() => {})
    await eventually(() => shed.length >= 5, 10_000, 'five requests to be shed')
    expect(await signals.waitStarted(1)).toHaveLength(1)
    signals.open()
    const settled = await Promise.all(results)
    expect(settled.filter((r) => r.status === 200)).toHaveLength(5)
    expect(settled.filter((r) => r.status === 503)).toEqual(
      Array.from({ length: 5 }, () => ({ status: 503, retry: '1' })),
    )
    // The four that waited ran one after the other on the one thread.
    expect(signals.lines()).toHaveLength(5)
  })
})

describe('a Host that is no URL host', () => {
  it.each(['coroutine', 'thread-pool'] as const)(
    '%s kind: the request is served, not failed',
    async (kind) => {
      const { port } = await serve('behaviour-app.ts', { kind })
      const answer = await rawExchange(port, 'GET /hello HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n')
      expect(statuses(answer)).toEqual([200])
      expect(answer).toContain('hello\n')
    },
  )
})

describe('thread-pool kind: requests waiting for a thread cross to it together', () => {
  it('each is answered for itself: one that throws gets 500, the others their own answers', async () => {
    const { base } = await serve('behaviour-app.ts', { kind: 'thread-pool', threads: 1, threadQueue: 8 })
    const signals = handlerSignals()
    // The first holds the one thread; those sent meanwhile wait, and cross together.
    const held = fetch(`${base}/slow?ms=0&${signals.held}`)
    await signals.waitStarted(1)
    const waiting = ['/throw', '/hello', '/nope', '/hello'].map((path) => fetch(`${base}${path}`))
    await new Promise((resolve) => setTimeout(resolve, 200))
    signals.open()
    expect((await held).status).toBe(200)
    const answers = await Promise.all(waiting)
    expect(answers.map((r) => r.status)).toEqual([500, 200, 404, 200])
    expect(await answers[1]!.text()).toBe('hello\n')
  })

  it('a request past its timeout gets 504; one that waited beside it is answered (200, 503 or its own 504), never 500', async () => {
    // Three seconds: see the coroutine timeout test on why not one.
    const { base } = await serve('behaviour-app.ts', { kind: 'thread-pool', threads: 1, timeout: 3 })
    const signals = handlerSignals()
    const held = fetch(`${base}/slow?ms=0&${signals.held}`)
    await signals.waitStarted(1)
    // Both wait for the one thread; the first then blocks it past the timeout.
    const stuck = fetch(`${base}/spin?ms=8000`)
    const beside = fetch(`${base}/hello`)
    await new Promise((resolve) => setTimeout(resolve, 200))
    signals.open()
    expect((await held).status).toBe(200)
    expect((await stuck).status).toBe(504)
    // It waited behind the stuck one: past its own timeout by the time that was cut, or not.
    const other = await beside
    expect([200, 503, 504]).toContain(other.status)
    if (other.status === 503) expect(other.headers.get('retry-after')).toBe('1')
    expect((await fetch(`${base}/hello`)).status).toBe(200)
  }, 30_000)
})

describe('thread-pool kind: a reload under load', () => {
  it('answers every request: what waits for a pool thread is served before the old pool closes', async () => {
    const { server, base } = await serve('behaviour-app.ts', {
      kind: 'thread-pool',
      threads: 1,
      threadQueue: 64,
    })
    // A connection per request: what is measured is the worker's queue, not keep-alive's close race.
    const get = () =>
      new Promise<number>((resolve) => {
        http
          .get(`${base}/hello`, { agent: false }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          .on('error', () => resolve(0))
      })
    const answers: number[] = []
    let running = true
    const client = async () => {
      while (running) answers.push(await get())
    }
    const clients = Array.from({ length: 16 }, client)
    await eventually(() => answers.length >= 200, 10_000, '200 answers before the reload')
    await server.reload(server.config)
    const reloadedAt = answers.length
    await eventually(() => answers.length >= reloadedAt + 200, 10_000, '200 answers after the reload')
    running = false
    await Promise.all(clients)
    expect(answers.filter((status) => status !== 200)).toEqual([])
    expect(server.tree().children!.find((c) => c.name === 'workers')!.children!.length).toBe(1)
  })
})

describe('HEAD and bodiless statuses', () => {
  it.each(['coroutine', 'thread-pool'] as const)(
    '%s kind: HEAD gets the GET headers without a body',
    async (kind) => {
      const { port } = await serve('behaviour-app.ts', { kind })
      const response = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.write('HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        )
        let text = ''
        socket.on('data', (chunk) => {
          text += chunk
        })
        socket.on('close', () => resolve(text))
      })
      expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(response).not.toMatch(/content-length: 0\r\n/i)
      expect(response.split('\r\n\r\n')[1]).toBe('')
    },
  )
})
