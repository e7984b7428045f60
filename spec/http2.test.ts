/**
 * HTTP/2 on troupe's binds: h2 by ALPN on https:// binds (on by default, HTTP/1.1 for clients
 * without it, `--no-http2` to turn it off) and h2c by prior knowledge on plain binds where
 * configured; Node-style apps through node:http2's compatibility API, fetch apps unchanged, in
 * both placements and kinds. Per stream: the request timeout, shedding, the body limit, a
 * client's RST_STREAM. GOAWAY on reload and stop, with the streams in flight finished. The
 * clients are Node's http2 and, where installed, nghttp and h2load.
 */
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import { startServer } from '../runtime/master/master.ts'
import { fixturePath } from './support/serve.ts'
import { makeCerts, type TestCerts } from './support/tls-certs.ts'
import { start, tempDir } from './support/troupe-cli.ts'

const fetchApp = fixturePath('h2-fetch-app.ts')
const nodeApp = fixturePath('h2-node-app.ts')

let certs: TestCerts
beforeAll(() => {
  certs = makeCerts()
})
afterAll(() => {
  if (certs) rmSync(certs.dir, { recursive: true, force: true })
})

const serve = async (flags: Record<string, unknown>) => {
  const { config } = resolveConfig({
    flags: { app: fetchApp, workers: 1, certfile: certs.cert, keyfile: certs.key, ...flags },
  })
  const server = await startServer(config)
  onTestFinished(() => server.stop({ graceful: false }))
  return server
}

/** An HTTP/2 session to an address as troupe prints it (`https://H:P` or `H:P`: h2c). */
const connect = (address: string): http2.ClientHttp2Session => {
  const authority = address.startsWith('https://') ? address : `http://${address}`
  const session = http2.connect(authority, { ca: readFileSync(certs.ca) })
  // Failures show in the requests made on it.
  session.on('error', () => {})
  onTestFinished(() => {
    session.destroy()
  })
  return session
}

interface Answer {
  readonly status: number
  readonly headers: http2.IncomingHttpHeaders
  readonly body: string
}

/** One request on a session: status, headers and the body as text. */
const request = (
  session: http2.ClientHttp2Session,
  path: string,
  init: { method?: string; body?: Buffer; headers?: http2.OutgoingHttpHeaders } = {},
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const stream = session.request(
      { ':path': path, ':method': init.method ?? 'GET', ...init.headers },
      { endStream: init.body === undefined },
    )
    let headers: http2.IncomingHttpHeaders = {}
    let body = ''
    stream.on('response', (h) => {
      headers = h
    })
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      body += chunk
    })
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }))
    stream.on('error', reject)
    if (init.body !== undefined) stream.end(init.body)
  })

/** GET over HTTPS/1.1 (Node's https offers no ALPN): status and body. */
const getHttp1 = (address: string, path = '/'): Promise<{ status: number; body: string; version: string }> =>
  new Promise((resolve, reject) => {
    https
      .get(`${address}${path}`, { ca: readFileSync(certs.ca), agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode!, body, version: res.httpVersion }))
      })
      .on('error', reject)
  })

/** The protocol a TLS handshake agrees on when the client offers h2 and http/1.1. */
const negotiated = (address: string): Promise<string | false | null> =>
  new Promise((resolve, reject) => {
    const url = new URL(address)
    const socket = tls.connect(
      {
        host: url.hostname,
        port: Number(url.port),
        ca: readFileSync(certs.ca),
        ALPNProtocols: ['h2', 'http/1.1'],
      },
      () => {
        resolve(socket.alpnProtocol)
        socket.destroy()
      },
    )
    socket.on('error', reject)
  })

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex')

const until = async (check: () => Promise<boolean> | boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe.each([
  ['thread', 'coroutine', 'node'],
  ['process', 'coroutine', 'node'],
  ['thread', 'coroutine', 'fetch'],
  ['process', 'thread-pool', 'fetch'],
] as const)('%s placement, %s kind, %s app', (placement, kind, style) => {
  it('h2 by ALPN on https://, HTTP/1.1 beside it for clients without h2, h2c by prior knowledge on a plain bind', async () => {
    const server = await serve({
      app: style === 'node' ? nodeApp : fetchApp,
      placement,
      kind,
      workers: 2,
      bind: ['https://127.0.0.1:0', '127.0.0.1:0'],
      http2Cleartext: 'prior-knowledge',
      http2MaxConcurrentStreams: 32,
    })
    const [secure, plain] = server.addresses as [string, string]
    const session = connect(secure)
    // A client that sends before the server's SETTINGS arrive may open more streams than allowed.
    await new Promise((resolve) => session.once('remoteSettings', resolve))
    // Thirty requests multiplexed on one connection, all answered, by the one worker that holds it.
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => request(session, `/m${i}`)))
    expect(session.alpnProtocol).toBe('h2')
    expect(session.remoteSettings.maxConcurrentStreams).toBe(32)
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]))
    const host = secure.slice('https://'.length)
    const expected =
      style === 'node'
        ? new RegExp(`^HTTP/2\\.0 ${host}/m\\d+ (w[12]) 1\\n$`)
        : new RegExp(`^https://${host}/m\\d+ (w[12]) 1\\n$`)
    for (const answer of answers) expect(answer.body).toMatch(expected)
    expect(new Set(answers.map((a) => expected.exec(a.body)![1])).size).toBe(1)

    // The same port, a client that offers no h2: HTTP/1.1.
    const old = await getHttp1(secure, '/old')
    expect(old).toMatchObject({ status: 200, version: '1.1' })

    // h2c by prior knowledge, and plain HTTP/1.1, on the plain bind.
    const clear = connect(plain)
    const h2c = await request(clear, '/clear')
    expect(h2c.status).toBe(200)
    expect(h2c.body).toMatch(style === 'node' ? /^HTTP\/2\.0 / : new RegExp(`^http://${plain}/clear `))
    expect((await fetch(`http://${plain}/h1`)).status).toBe(200)
    expect(server.stats().totals.restarts).toBe(0)
  })

  it('a large upload streams in; one over maxBodySize gets 413 and the connection serves on', async () => {
    const server = await serve({
      app: style === 'node' ? nodeApp : fetchApp,
      placement,
      kind,
      bind: ['https://127.0.0.1:0'],
      maxBodySize: 16 * 1024 * 1024,
    })
    const session = connect(server.addresses[0]!)
    const data = crypto.randomBytes(8 * 1024 * 1024)
    const upload = await request(session, '/upload', {
      method: 'POST',
      body: data,
      headers: { 'content-length': data.length },
    })
    expect(upload.status).toBe(200)
    expect(JSON.parse(upload.body)).toEqual({ bytes: data.length, sha256: sha256(data) })
  })
})

describe('limits per stream', () => {
  it('a body over maxBodySize: 413 on that stream, the others on the connection unharmed', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'], maxBodySize: 1024 * 1024 })
    const session = connect(server.addresses[0]!)
    const big = crypto.randomBytes(4 * 1024 * 1024)
    const [refused, beside] = await Promise.all([
      request(session, '/upload', { method: 'POST', body: big, headers: { 'content-length': big.length } }),
      request(session, '/beside'),
    ])
    expect(refused.status).toBe(413)
    expect(beside.status).toBe(200)
    // No Content-Length: the limit holds on what streams in.
    const streamed = await request(session, '/upload', { method: 'POST', body: big })
    expect(streamed.status).toBe(413)
    expect((await request(session, '/after')).status).toBe(200)
    expect(server.stats().totals.restarts).toBe(0)
  })

  it('the request timeout answers 504 on its stream while the others on the connection are served', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'], timeout: 1 })
    const session = connect(server.addresses[0]!)
    const slow = request(session, '/slow?ms=3000')
    const quick = await Promise.all([request(session, '/a'), request(session, '/b')])
    expect(quick.map((a) => a.status)).toEqual([200, 200])
    expect((await slow).status).toBe(504)
    expect((await request(session, '/after')).status).toBe(200)
  })

  it('shedding counts streams: past the worker concurrency limit a stream gets 503 with Retry-After', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'], connections: 2 })
    const session = connect(server.addresses[0]!)
    const answers = await Promise.all(Array.from({ length: 6 }, () => request(session, '/slow?ms=500')))
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses).toEqual([200, 200, 503, 503, 503, 503])
    expect(answers.find((a) => a.status === 503)!.headers['retry-after']).toBe('1')
    await until(() => server.stats().totals.shed === 4)
  })

  it('header lists past maxHeaders or maxHeaderSize: that stream is refused (ENHANCE_YOUR_CALM), the connection serves on', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'], maxHeaders: 20, maxHeaderSize: 2048 })
    const session = connect(server.addresses[0]!)
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, 'v']))
    await expect(request(session, '/many', { headers: many })).rejects.toThrow(/NGHTTP2_ENHANCE_YOUR_CALM/)
    await expect(request(session, '/big', { headers: { 'x-big': 'a'.repeat(10_000) } })).rejects.toThrow(
      /NGHTTP2_ENHANCE_YOUR_CALM/,
    )
    expect((await request(session, '/after')).status).toBe(200)
    expect(server.stats().totals.restarts).toBe(0)
  })

  it.each([
    ['fetch', fetchApp],
    ['node', nodeApp],
  ] as const)(
    'RST_STREAM from the client: the %s app hears the request end, the connection serves on',
    async (_style, app) => {
      const server = await serve({ app, bind: ['https://127.0.0.1:0'] })
      const session = connect(server.addresses[0]!)
      const held = session.request({ ':path': '/hold' })
      held.on('error', () => {})
      // The request is in the app once the worker counts it in flight.
      await until(() => server.stats().totals.inflight === 1)
      held.close(http2.constants.NGHTTP2_CANCEL)
      await until(async () => (await request(session, '/cancelled')).body === '1')
      expect(server.stats().totals.restarts).toBe(0)
    },
  )

  it('Node-style apps: connection-specific headers set for HTTP/1.1 (an SSE handler) are dropped over HTTP/2, not thrown on', async () => {
    const server = await serve({ app: nodeApp, bind: ['https://127.0.0.1:0'] })
    const answer = await request(connect(server.addresses[0]!), '/events')
    expect(answer).toMatchObject({ status: 200, body: 'data: hi\n\n' })
    expect(answer.headers['content-type']).toBe('text/event-stream')
    expect(answer.headers['cache-control']).toBe('no-cache')
    expect(answer.headers.connection).toBeUndefined()
    // Over HTTP/1.1 the same response keeps them.
    const old = await new Promise<string | undefined>((resolve, reject) => {
      https
        .get(`${server.addresses[0]}/events`, { ca: readFileSync(certs.ca), agent: false }, (res) => {
          res.resume()
          resolve(res.headers.connection)
        })
        .on('error', reject)
    })
    expect(old).toBe('keep-alive')
  })

  it('fetch apps: connection-specific headers set for HTTP/1.1 are dropped, Set-Cookie stays two fields', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'] })
    const answer = await request(connect(server.addresses[0]!), '/cookies')
    expect(answer.status).toBe(200)
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(answer.headers.connection).toBeUndefined()
    expect(answer.headers['keep-alive']).toBeUndefined()
  })
})

describe('other listeners', () => {
  it("reuseport: the workers' own listeners serve h2 by ALPN and h2c alike", async () => {
    const server = await serve({
      strategy: 'reuseport',
      workers: 2,
      bind: ['https://127.0.0.1:0', '127.0.0.1:0'],
      http2Cleartext: 'prior-knowledge',
    })
    const [secure, plain] = server.addresses as [string, string]
    for (const address of [secure, plain]) {
      const session = connect(address)
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => request(session, `/r${i}`)))
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200))
      expect(session.alpnProtocol).toBe(address === secure ? 'h2' : 'h2c')
    }
    expect(server.stats().totals.restarts).toBe(0)
  })

  it.each(['thread', 'process'] as const)(
    'h2c over a unix: bind, %s placement (a thread worker gets it through the master relay)',
    async (placement) => {
      const socketPath = path.join(tempDir(), 'h2c.sock')
      const server = await serve({
        placement,
        bind: [`unix:${socketPath}`],
        http2Cleartext: 'prior-knowledge',
      })
      const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) })
      session.on('error', () => {})
      onTestFinished(() => {
        session.destroy()
      })
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => request(session, `/u${i}`)))
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200))
      expect(answers[0]!.body).toMatch(/^http:\/\/localhost\/u0 w1 1\n$/)
      const data = crypto.randomBytes(2 * 1024 * 1024)
      const upload = await request(session, '/upload', { method: 'POST', body: data })
      expect(JSON.parse(upload.body)).toEqual({ bytes: data.length, sha256: sha256(data) })
      expect(server.stats().totals.restarts).toBe(0)
    },
  )
})

describe('the connection', () => {
  it('an HTTP/2 connection idle for keepAlive is closed with GOAWAY', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'], keepAlive: 1 })
    const session = connect(server.addresses[0]!)
    expect((await request(session, '/')).status).toBe(200)
    const idle = Date.now()
    await new Promise((resolve) => session.once('goaway', resolve))
    expect(Date.now() - idle).toBeGreaterThanOrEqual(900)
    await until(() => session.closed || session.destroyed)
  })

  it('the access log writes HTTP/2.0 requests with the body bytes sent', async () => {
    const file = path.join(tempDir(), 'access.log')
    const server = await serve({ bind: ['https://127.0.0.1:0'], accessLog: file })
    const session = connect(server.addresses[0]!)
    const answer = await request(session, '/logged?x=1')
    expect(answer.status).toBe(200)
    await server.stop({ graceful: true })
    const line = readFileSync(file, 'utf8').trim()
    expect(line).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET /logged\\?x=1 HTTP/2\\.0" 200 ${Buffer.byteLength(answer.body)}$`,
      ),
    )
  })
})

describe('turning it off', () => {
  it('--no-http2: https:// binds negotiate HTTP/1.1 only; without http2Cleartext a plain bind does not speak h2c', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0', '127.0.0.1:0'], http2: false })
    const [secure, plain] = server.addresses as [string, string]
    expect(await negotiated(secure)).toBe('http/1.1')
    expect((await getHttp1(secure)).status).toBe(200)
    const clear = connect(plain)
    const refused = await request(clear, '/').catch((error: Error) => error)
    expect(refused).toBeInstanceOf(Error)
    expect((await fetch(`http://${plain}/`)).status).toBe(200)
    expect(server.stats().totals.restarts).toBe(0)
  })

  it('an Express app (it gives requests node:http prototypes) is served HTTP/1.1 only, with a warning, not crashed by h2', async () => {
    const troupe = start(
      [
        'serve',
        fixturePath('express-app.ts'),
        '--bind',
        'https://127.0.0.1:0',
        '--certfile',
        certs.cert,
        '--keyfile',
        certs.key,
        '--http2-cleartext',
        'prior-knowledge',
        '--bind',
        '127.0.0.1:0',
      ],
      { cwd: tempDir() },
    )
    onTestFinished(() => {
      troupe.signal('SIGKILL')
    })
    const { addresses } = await troupe.serving()
    const [secure, plain] = addresses as [string, string]
    await troupe.waitForStderr(
      /warning: worker w1: the app .* served HTTP\/1\.1 only .*\[TROUPE_W_APP_NEEDS_NODE_HTTP\]/,
    )
    expect(await negotiated(secure)).toBe('http/1.1')
    const answer = await getHttp1(secure, '/users/7')
    expect(answer).toMatchObject({ status: 200, version: '1.1' })
    expect(JSON.parse(answer.body)).toMatchObject({ id: '7', framework: 'express' })
    // An h2c client is not served HTTP/2 either; HTTP/1.1 on the same port is.
    await expect(request(connect(plain), '/users/8')).rejects.toThrow()
    expect((await fetch(`http://${plain}/users/9`)).status).toBe(200)
    expect(troupe.stderr).not.toMatch(/exited \(crash/)
    expect((await troupe.stop()).code).toBe(0)
  })

  it('on by default: a client offering h2 gets it', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'] })
    expect(await negotiated(server.addresses[0]!)).toBe('h2')
  })
})

describe('GOAWAY', () => {
  it('a reload sends GOAWAY: the stream in flight finishes on generation 1, a new connection gets generation 2', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'], gracefulTimeout: 10 })
    const address = server.addresses[0]!
    const session = connect(address)
    expect((await request(session, '/warm')).body).toMatch(/ w1 1\n$/)
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)))
    const inFlight = request(session, '/slow?ms=1500')
    await until(() => server.stats().totals.inflight === 1)
    const reloaded = server.reload()
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR)
    const finished = await inFlight
    expect(finished).toMatchObject({ status: 200 })
    expect(finished.body).toMatch(/^slow w1 1\n$/)
    await reloaded
    const fresh = connect(address)
    expect((await request(fresh, '/new')).body).toMatch(/ 2\n$/)
  })

  it('a graceful stop sends GOAWAY and lets the streams in flight finish', async () => {
    const { config } = resolveConfig({
      flags: { app: fetchApp, bind: ['https://127.0.0.1:0'], certfile: certs.cert, keyfile: certs.key },
    })
    const server = await startServer(config)
    onTestFinished(() => server.stop({ graceful: false }))
    const session = connect(server.addresses[0]!)
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()))
    const inFlight = request(session, '/slow?ms=1000')
    await until(() => server.stats().totals.inflight === 1)
    const stopped = server.stop({ graceful: true })
    await goaway
    expect(await inFlight).toMatchObject({ status: 200, body: 'slow w1 1\n' })
    await stopped
  })
})

describe('real clients: nghttp and h2load', () => {
  const has = (tool: string) =>
    promisify(execFile)(tool, ['--version']).then(
      () => true,
      () => false,
    )

  it('nghttp fetches over h2; h2load multiplexes thousands of requests, all 2xx', async () => {
    if (!(await has('h2load')) || !(await has('nghttp'))) {
      console.log(
        'skipped: nghttp/h2load not installed (Debian package nghttp2-client; .ci/run installs it as root)',
      )
      return
    }
    const server = await serve({
      bind: ['https://127.0.0.1:0', '127.0.0.1:0'],
      workers: 2,
      http2Cleartext: 'prior-knowledge',
    })
    const [secure, plain] = server.addresses as [string, string]
    const nghttp = await promisify(execFile)('nghttp', ['-v', `${secure}/nghttp`])
    expect(nghttp.stdout).toMatch(/recv HEADERS frame/)
    expect(nghttp.stdout).toMatch(/:status: 200/)
    expect(nghttp.stdout).toMatch(/\/nghttp w[12] 1/)
    for (const target of [`${secure}/load`, `http://${plain}/load`]) {
      const load = await promisify(execFile)('h2load', ['-n', '2000', '-c', '4', '-m', '16', target])
      expect(load.stdout).toMatch(/requests: 2000 total, 2000 started, 2000 done, 2000 succeeded/)
      expect(load.stdout).toMatch(/status codes: 2000 2xx/)
    }
    expect(server.stats().totals.restarts).toBe(0)
  })
})
