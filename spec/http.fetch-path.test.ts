/**
 * The fetch path's promise: a fetch app cannot tell troupe's lazy Request (IncomingRequest)
 * and light Response from the standard's. A real troupe server runs spec/fixtures/fetch-path-app.ts
 * in both placements; a real HTTP client checks what a user would see: bodies read in any
 * order, clones, forms, bodies read twice, redirects, JSON, Set-Cookie, every body type,
 * HEAD, `instanceof`, forwarding with fetch(), URL normalisation, the body limit, a client
 * that leaves, the timeout's abort. The thread-pool kind (whose pool thread installs the light
 * Response too) serves a few of them.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { type ConfigKey, resolveConfig } from '../runtime/master/config.ts'
import { type Server, startServer } from '../runtime/master/master.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { rawConnection } from './support/raw-connection.ts'
import { fixturePath, serve } from './support/serve.ts'
import { start as startCli, tempDir } from './support/troupe-cli.ts'

interface Answer {
  status: number
  statusText: string
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  body: Buffer
  text: string
}

interface Ask {
  method?: string
  headers?: Record<string, string | number>
  body?: string | Buffer | Buffer[]
  /** Sends the body in these pieces, chunked (no Content-Length). */
  chunked?: Buffer[]
}

/** One request on a fresh connection, with node:http: it sends what it is told (Host included). */
const ask = (port: number, path: string, options: Ask = {}): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          resolve({
            status: res.statusCode!,
            statusText: res.statusMessage!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            text: body.toString('utf8'),
          })
        })
      },
    )
    req.on('error', reject)
    if (options.chunked) {
      for (const piece of options.chunked) req.write(piece)
      req.end()
    } else req.end(options.body)
  })

const json = (answer: Answer): unknown => {
  expect(answer.headers['content-type'], answer.text).toMatch(/^application\/json/)
  return JSON.parse(answer.text)
}

/** The values of a header as separate lines on the wire (node:http joins some in `headers`). */
const rawValues = (answer: Answer, name: string): string[] =>
  answer.rawHeaders.filter((_, i) => i % 2 === 1 && answer.rawHeaders[i - 1]!.toLowerCase() === name)

/** A troupe server shared by a describe block's tests (cheaper than one per test on two cores). */
const shared = (flags: Partial<Record<ConfigKey, unknown>>) => {
  const state = { server: undefined as Server | undefined, port: 0 }
  beforeAll(async () => {
    const { config } = resolveConfig({
      env: {},
      flags: { bind: ['127.0.0.1:0'], workers: 1, ...flags, app: fixturePath('fetch-path-app.ts') },
    })
    state.server = await startServer(config, {
      onFailure: (reason) => {
        throw new Error(`troupe's root supervisor gave up: ${JSON.stringify(reason)}`)
      },
    })
    state.port = Number(state.server.addresses[0]!.split(':').pop())
  })
  afterAll(async () => {
    await state.server?.stop({ graceful: false })
  })
  return state
}

/** A tiny upstream for forwarding: answers with what it received, but never answers /forward-hang. */
const upstream = async (onHang: (req: http.IncomingMessage) => void = () => {}) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/forward-hang') return onHang(req)
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          header: req.headers['x-forwarded-test'] ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      )
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return (server.address() as AddressInfo).port
}

/** Sends raw bytes on a fresh connection and reads the whole answer (the request says Connection: close). */
const rawAsk = async (port: number, bytes: string): Promise<{ head: string; body: string }> => {
  const connection = rawConnection(port)
  connection.socket.write(bytes)
  await connection.closed
  const text = connection.received
  const split = text.indexOf('\r\n\r\n')
  return { head: text.slice(0, split), body: text.slice(split + 4) }
}

const workerRestarts = (server: Server) =>
  server
    .tree()
    .children!.find((c) => c.name === 'workers')!
    .children!.map((w) => w.restarts)

const BINARY = Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xc3, 0x28, 0xfe, 0xff, 0x0d, 0x0a])

describe.each([
  ['thread', 'coroutine'],
  ['process', 'coroutine'],
  ['thread', 'thread-pool'],
] as const)('fetch path, %s placement, %s kind', (placement, kind) => {
  const s = shared({ placement, kind, maxBodySize: 10_000 })

  it('headers read after the body, and the body read before the URL', async () => {
    const after = await ask(s.port, '/headers-after-body', {
      method: 'POST',
      headers: { 'x-after': 'still here' },
      body: 'the body',
    })
    expect(json(after)).toEqual({ text: 'the body', header: 'still here', bodyUsed: true })
    // PUT: the app reads the body before it looked at anything else.
    const first = await ask(s.port, '/body/first?q=1', {
      method: 'PUT',
      headers: { 'x-after': 'later', host: `127.0.0.1:${s.port}` },
      body: 'put body',
    })
    expect(json(first)).toEqual({
      text: 'put body',
      header: 'later',
      url: `http://127.0.0.1:${s.port}/body/first?q=1`,
      method: 'PUT',
      bodyUsed: true,
    })
  })

  it('clone(): both bodies readable; clone of a read body throws TypeError', async () => {
    expect(json(await ask(s.port, '/clone', { method: 'POST', body: 'cloned body' }))).toEqual({
      fromCopy: 'cloned body',
      fromOriginal: 'cloned body',
      again: 'TypeError',
      bodyUsed: true,
    })
    expect(json(await ask(s.port, '/clone-after-read', { method: 'POST', body: 'x' }))).toEqual({
      clone: 'TypeError',
    })
  })

  it('formData() of an urlencoded and of a multipart body', async () => {
    const urlencoded = await ask(s.port, '/form', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=J%C3%BCrgen&x=a+b&x2=%26',
    })
    expect(json(urlencoded)).toEqual({ name: 'Jürgen', x: 'a b', x2: '&' })
    const form = new FormData()
    form.append('field', 'value ü')
    form.append('upload', new Blob(['file contents'], { type: 'text/plain' }), 'notes.txt')
    const encoded = new Response(form)
    const body = Buffer.from(await encoded.arrayBuffer())
    const multipart = await ask(s.port, '/form', {
      method: 'POST',
      headers: { 'content-type': encoded.headers.get('content-type')! },
      body,
    })
    expect(json(multipart)).toEqual({
      field: 'value ü',
      upload: { name: 'notes.txt', type: 'text/plain', text: 'file contents', size: 13 },
    })
  })

  it('a body read twice: the second read rejects with TypeError, bodyUsed true after the first', async () => {
    for (const [first, second] of [
      ['text', 'text'],
      ['text', 'json'],
      ['json', 'arrayBuffer'],
      ['arrayBuffer', 'text'],
      ['bytes', 'bytes'],
      ['text', 'formData'],
      ['text', 'blob'],
    ]) {
      const answer = json(
        await ask(s.port, `/twice?first=${first}&second=${second}`, { method: 'POST', body: '"v"' }),
      )
      expect(answer, `${first} then ${second}`).toEqual({
        before: false,
        after: true,
        first: first === 'text' ? '"v"' : first === 'json' ? 'v' : '227622',
        second: 'TypeError',
      })
    }
  })

  it('json(), exact bytes with arrayBuffer()/bytes(), a GET body, a BOM', async () => {
    expect(
      json(
        await ask(s.port, '/json', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"a":[1,2],"é":"ü"}',
        }),
      ),
    ).toEqual({ got: { a: [1, 2], é: 'ü' } })
    for (const as of ['arrayBuffer', 'bytes']) {
      const answer = json(await ask(s.port, `/bytes?as=${as}`, { method: 'POST', body: BINARY }))
      expect(answer).toEqual({ hex: BINARY.toString('hex'), isUint8Array: true })
    }
    // Chunked, in pieces: the same bytes.
    const pieces = [BINARY.subarray(0, 3), BINARY.subarray(3, 4), BINARY.subarray(4)]
    expect(json(await ask(s.port, '/bytes?as=bytes', { method: 'POST', chunked: pieces }))).toEqual({
      hex: BINARY.toString('hex'),
      isUint8Array: true,
    })
    const echoed = await ask(s.port, '/echo', { method: 'POST', body: BINARY })
    expect(echoed.body.equals(BINARY)).toBe(true)
    // Read a while after the whole body came in.
    expect(json(await ask(s.port, '/sleep-text', { method: 'POST', body: 'waited' }))).toEqual({
      text: 'waited',
    })
    expect(json(await ask(s.port, '/sleep-text', { method: 'POST', body: '' }))).toEqual({ text: '' })
    expect(json(await ask(s.port, '/get-body'))).toEqual({ text: '', bodyIsNull: true, bodyUsed: false })
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('with a BOM')])
    expect(json(await ask(s.port, '/text', { method: 'POST', body: bom }))).toEqual({ text: 'with a BOM' })
  })

  it('Response.redirect, Response.json with init, Response.error', async () => {
    for (const status of [302, 301]) {
      const answer = await ask(s.port, `/redirect?status=${status}`)
      expect(answer.status).toBe(status)
      expect(answer.headers.location).toBe('http://example.com/there')
      expect(answer.text).toBe('')
    }
    const made = await ask(s.port, '/response-json')
    expect(made.status).toBe(201)
    expect(made.headers['content-type']).toBe('application/json')
    expect(made.headers['x-extra']).toBe('yes')
    expect(made.headers['content-length']).toBe(String(made.body.length))
    expect(JSON.parse(made.text)).toEqual({ a: 1, b: 'é' })
    // Response.error() is a network error: there is no answer to give, troupe answers 500.
    const error = await ask(s.port, '/response-error')
    expect(error.status).toBe(500)
    expect((await ask(s.port, '/hello')).text).toBe('hello, world\n')
    expect(workerRestarts(s.server!)).toEqual([0])
  })

  it('Set-Cookie twice reaches the client as two headers', async () => {
    for (const path of ['/cookies-append', '/cookies-init']) {
      const answer = await ask(s.port, path)
      expect(rawValues(answer, 'set-cookie'), path).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
      expect(answer.text).toBe('cookies')
    }
  })

  it('every body type: a stream in chunks, a Blob, bytes, empty, 204 and 304', async () => {
    const streamed = await ask(s.port, '/stream')
    expect(streamed.text).toBe('chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;')
    expect(streamed.headers['content-type']).toBe('text/plain')
    const blob = await ask(s.port, '/blob')
    expect(blob.text).toBe('<p>blob</p>')
    expect(blob.headers['content-type']).toBe('text/html')
    for (const [path, bytes] of [
      ['/uint8', [0, 1, 0x80, 0xff]],
      ['/uint8-view', [0, 1, 0x80, 0xff]],
      ['/arraybuffer', [0xfe, 0xed, 0x00, 0x7f]],
    ] as const) {
      const answer = await ask(s.port, path)
      expect([...answer.body], path).toEqual(bytes)
      expect(answer.headers['content-type'], path).toBeUndefined()
      expect(answer.headers['content-length'], path).toBe('4')
    }
    for (const path of ['/empty-string', '/no-body']) {
      const answer = await ask(s.port, path)
      expect(answer.status).toBe(200)
      expect(answer.body.length).toBe(0)
      expect(answer.headers['content-length'], path).toBe('0')
    }
    expect((await ask(s.port, '/empty-string')).headers['content-type']).toBe('text/plain;charset=UTF-8')
    expect((await ask(s.port, '/no-body')).headers['content-type']).toBeUndefined()
    const noContent = await rawAsk(s.port, 'GET /null-204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(noContent.head).toMatch(/^HTTP\/1\.1 204 No Content\r\n/)
    expect(noContent.head).not.toMatch(/^content-length:/im)
    expect(noContent.head).not.toMatch(/^transfer-encoding:/im)
    expect(noContent.body).toBe('')
    const notModified = await rawAsk(s.port, 'GET /null-304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(notModified.head).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/)
    expect(notModified.head).toMatch(/^etag: "v1"$/im)
    expect(notModified.head).not.toMatch(/^content-length:/im)
    expect(notModified.body).toBe('')
    const teapot = await ask(s.port, '/status-text')
    expect([teapot.status, teapot.statusText, teapot.text]).toEqual([418, 'I Am A Teapot', 'teapot'])
  })

  it('HEAD: the GET headers (its Content-Length) and no body', async () => {
    const get = await ask(s.port, '/hello')
    const head = await rawAsk(s.port, 'HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(head.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(head.head).toMatch(new RegExp(`^content-length: ${get.body.length}$`, 'im'))
    expect(head.head).toMatch(/^content-type: text\/plain;charset=UTF-8$/im)
    expect(head.body).toBe('')
    // Answered without a body, a HEAD does not claim a length of 0.
    const bodiless = await rawAsk(s.port, 'HEAD /head-null HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(bodiless.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(bodiless.head).toMatch(/^content-type: text\/plain$/im)
    expect(bodiless.head).not.toMatch(/^content-length:/im)
    expect(bodiless.body).toBe('')
  })

  it('instanceof, toString tag, new Request(request), fetch(request) forwarding', async () => {
    const up = await upstream()
    expect(json(await ask(s.port, `/identity?upstream=${up}`))).toEqual({
      requestIsRequest: true,
      tag: '[object Request]',
      constructors: [true, 'Request', true, true, true],
      lightIsResponse: true,
      fetchedIsResponse: true,
      redirectIsResponse: true,
      subclass: true,
    })
    expect(
      json(
        await ask(s.port, '/copy?k=v', {
          method: 'POST',
          headers: { 'x-copied': 'yes', host: `127.0.0.1:${s.port}` },
          body: 'copied body',
        }),
      ),
    ).toEqual({
      isRequest: true,
      method: 'POST',
      url: `http://127.0.0.1:${s.port}/copy?k=v`,
      header: 'yes',
      body: 'copied body',
    })
    // The client names the upstream as its Host: the request's URL is the upstream's.
    const forwarded = await ask(s.port, '/forward?x=1', {
      method: 'POST',
      headers: { host: `127.0.0.1:${up}`, 'x-forwarded-test': 'passed' },
      body: 'forwarded body',
    })
    expect(json(forwarded)).toEqual({
      method: 'POST',
      url: '/forward?x=1',
      header: 'passed',
      body: 'forwarded body',
    })
    // Headers the app changed after something made the real Request (clone()) go with it.
    const mutated = await ask(s.port, '/mutate-forward', {
      method: 'POST',
      headers: { host: `127.0.0.1:${up}`, 'x-forwarded-test': 'original' },
      body: 'mutated body',
    })
    expect(json(mutated)).toEqual({
      method: 'POST',
      url: '/mutate-forward',
      header: 'mutated',
      body: 'mutated body',
    })
    // Every other member of Request.prototype answers as a Request's.
    expect(json(await ask(s.port, '/members'))).toEqual({
      differ: [],
      sameBody: true,
      sameHeaders: true,
      sameSignal: true,
      bodyLocked: null,
    })
    expect(json(await ask(s.port, '/members?read', { method: 'POST', body: 'm' }))).toMatchObject({
      differ: [],
      sameBody: true,
      bodyLocked: true,
    })
    expect(json(await ask(s.port, '/copy-after-read', { method: 'POST', body: 'read' }))).toEqual({
      copy: 'TypeError',
      fetch: 'TypeError',
      bodyUsed: true,
    })
    expect(
      json(await ask(s.port, '/mutate-copy', { method: 'POST', headers: { 'x-gone': 'here' }, body: 'b' })),
    ).toEqual({ copied: 'mutated', gone: null })
    const init = await ask(s.port, `/forward-to?upstream=${up}`, {
      method: 'PATCH',
      headers: { 'x-forwarded-test': 'as init' },
      body: 'init body',
    })
    expect(json(init)).toEqual({ method: 'PATCH', url: '/forwarded', header: 'as init', body: 'init body' })
  })

  it('request.url is normalised as new Request(url) would', async () => {
    const cases: Array<[target: string, host: string]> = [
      ['/a/../b', 'x.test'],
      ['/./x', 'x.test'],
      ['/%2e%2e/x', 'x.test'],
      ['/%2E/y?z', 'x.test'],
      ['/p', 'EXAMPLE.com'],
      ['/p', 'example.com:80'],
      ['/p', 'example.com:8080'],
      ["/q?name='a%20b'&c=d", 'x.test'],
      ['/p', '127.1'],
      ['/p', '0x7f.0.0.1:3000'],
      ['/p', '[::1]:81'],
      ['/caf%C3%A9/%7Ex', 'x.test'],
      ['//double//slash', 'x.test'],
      ['/a\\b', 'x.test'],
      ['/p', 'xn--nxasmq6b.com'],
      ['/p#frag', 'x.test'],
    ]
    for (const [target, host] of cases) {
      const { head, body } = await rawAsk(
        s.port,
        `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nX-Route: url\r\nConnection: close\r\n\r\n`,
      )
      expect(head, `${target} ${host}`).toMatch(/^HTTP\/1\.1 200 /)
      expect((JSON.parse(body) as { url: string }).url, `${target} on ${host}`).toBe(
        new Request(`http://${host}${target}`).url,
      )
    }
  })

  it('a body over maxBodySize read with text(): 413, declared or chunked, and the worker serves on', async () => {
    const declared = await ask(s.port, '/text', { method: 'POST', body: 'x'.repeat(10_001) })
    expect(declared.status).toBe(413)
    const chunked = await ask(s.port, '/text', {
      method: 'POST',
      chunked: Array.from({ length: 11 }, () => Buffer.alloc(1_000, 'y')),
    })
    expect(chunked.status).toBe(413)
    // Read through the real Request (made for clone()): bounded the same way.
    const cloned = await ask(s.port, '/clone-text', {
      method: 'POST',
      chunked: Array.from({ length: 11 }, () => Buffer.alloc(1_000, 'y')),
    })
    expect(cloned.status).toBe(413)
    expect(json(await ask(s.port, '/text', { method: 'POST', body: 'z'.repeat(10_000) }))).toEqual({
      text: 'z'.repeat(10_000),
    })
    expect(workerRestarts(s.server!)).toEqual([0])
  })
})

describe.each(['thread', 'process'] as const)('request.signal, %s placement', (placement) => {
  it('aborts when the request runs past its timeout', async () => {
    // Three seconds: the heartbeat timeout is the same, and a slow start must not be taken for a hang.
    const { port } = await serve('fetch-path-app.ts', { placement, timeout: 3 })
    expect((await ask(port, '/signal')).status).toBe(504)
    await eventually(
      async () => (await ask(port, '/last-abort')).text === 'RequestTimeoutError',
      5_000,
      'the handler to see its signal abort',
    )
  })
})

// The coroutine kind: a thread-pool worker reads the body before its app runs at all.
describe.each([
  ['thread', 'coroutine'],
  ['process', 'coroutine'],
] as const)('a client that leaves, %s placement, %s kind', (placement, kind) => {
  it('while its body is read: no app error logged, and the worker serves on', async () => {
    // The worker's log lines go to stderr: the command line's, where a user reads them.
    const troupe = startCli(
      [
        'serve',
        fixturePath('fetch-path-app.ts'),
        '--bind',
        '127.0.0.1:0',
        '--placement',
        placement,
        '--kind',
        kind,
      ],
      { cwd: tempDir() },
    )
    const { port } = await troupe.serving()
    const signals = handlerSignals()
    const connection = rawConnection(port)
    connection.socket.write(
      `POST /text?${signals.started} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b`,
    )
    await signals.waitStarted()
    connection.socket.destroy()
    await connection.closed
    // A failure the worker does log, on a later connection: once its line is out, a line for
    // the request that lost its client would be out too.
    expect((await ask(port, '/throw?marker=after')).status).toBe(500)
    await troupe.waitForStderr(/^troupe: error: worker w1 GET \/throw\?marker=after: /m)
    expect(troupe.stderr).not.toMatch(/\/text/)
    expect((await ask(port, '/hello')).text).toBe('hello, world\n')
    expect(troupe.stderr).not.toMatch(/exited/)
    expect((await troupe.stop()).code).toBe(0)
  })

  // Retried: the upstream GC race below still cuts the link about one run in five here even
  // after the warm-up forward. troupe's part failing would fail every attempt.
  it('while fetch(request) forwards it: the forwarded request is cut too', { retry: 2 }, async () => {
    const { port } = await serve('fetch-path-app.ts', { placement, kind })
    let forwarded: http.IncomingMessage | undefined
    const up = await upstream((req) => {
      forwarded = req
    })
    // Node's fetch follows the request's signal through a WeakRef (nodejs/undici#3644, fixed
    // upstream by undici PR #4984, not yet in Node 26.10): a GC while the fetch is in flight can
    // cut the link, and a fresh worker's first fetch, which loads undici, often runs one. One
    // forward first, so that what this asserts is troupe's part: the client leaving aborts the
    // signal the app forwarded. The README names the upstream gap.
    expect((await ask(port, '/forward', { headers: { host: `127.0.0.1:${up}` } })).status).toBe(200)
    const connection = rawConnection(port)
    connection.socket.write(`GET /forward-hang HTTP/1.1\r\nHost: 127.0.0.1:${up}\r\n\r\n`)
    const arrived = await eventually(() => forwarded, 10_000, 'the forwarded request')
    connection.socket.destroy()
    await eventually(() => arrived.socket.destroyed, 10_000, 'the forwarded request to be cut')
  })

  it('before its body is read: the read rejects with TypeError (it does not wait for ever)', async () => {
    const { port } = await serve('fetch-path-app.ts', { placement, kind })
    const signals = handlerSignals()
    const connection = rawConnection(port)
    connection.socket.write(
      `POST /late-text?${signals.held} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b`,
    )
    await signals.waitStarted()
    connection.socket.destroy()
    await connection.closed
    // The app's signal aborts when the client goes: it stops waiting at the gate, then reads.
    await eventually(
      async () => (await ask(port, '/last-late')).text === 'TypeError',
      10_000,
      'the late read to reject',
    )
  })
})

describe('thread-pool kind', () => {
  const s = shared({ placement: 'thread', kind: 'thread-pool', threads: 1 })

  it('Set-Cookie twice, Response.json, a POST echo, HEAD', async () => {
    for (const path of ['/cookies-append', '/cookies-init'])
      expect(rawValues(await ask(s.port, path), 'set-cookie'), path).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
    const made = await ask(s.port, '/response-json')
    expect([made.status, made.headers['content-type'], made.headers['x-extra']]).toEqual([
      201,
      'application/json',
      'yes',
    ])
    expect(JSON.parse(made.text)).toEqual({ a: 1, b: 'é' })
    const echoed = await ask(s.port, '/echo', { method: 'POST', body: BINARY })
    expect(echoed.body.equals(BINARY)).toBe(true)
    const get = await ask(s.port, '/hello')
    const head = await rawAsk(s.port, 'HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(head.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(head.head).toMatch(new RegExp(`^content-length: ${get.body.length}$`, 'im'))
    expect(head.body).toBe('')
    const bodiless = await rawAsk(s.port, 'HEAD /head-null HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(bodiless.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(bodiless.head).not.toMatch(/^content-length:/im)
    const noContent = await rawAsk(s.port, 'GET /null-204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(noContent.head).toMatch(/^HTTP\/1\.1 204 No Content\r\n/)
    expect(noContent.head).not.toMatch(/^content-length:/im)
  })
})
