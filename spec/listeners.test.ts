/**
 * The listener kinds behind a proxy, served by a real troupe: uwsgi listeners (nginx's
 * uwsgi_pass), PROXY protocol on TCP listeners, trusted forwarded headers, and Unix sockets that
 * thread workers accept on themselves. Clients speak raw bytes on real sockets.
 */
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { describe, expect, it, onTestFinished } from 'vitest'
import { eventually } from './support/manual-clock.ts'
import { serve } from './support/serve.ts'
import { makeCerts } from './support/tls-certs.ts'
import { nginxVars, uwsgiPacket } from './support/uwsgi.ts'

const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-listeners-'))
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Writes `bytes`, reads until the server closes; resolves with what came back. */
const exchange = (target: { path: string } | { port: number }, bytes: Buffer | string): Promise<string> =>
  new Promise((resolve) => {
    const socket = 'path' in target ? net.connect(target.path) : net.connect(target.port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    // A refused connection may be reset rather than closed: what came before is the answer.
    socket.on('error', () => {})
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.end(bytes)
  })

/** The JSON body of a raw HTTP/1.1 response, de-chunked when it came chunked. */
const bodyOf = (response: string) => {
  const split = response.indexOf('\r\n\r\n')
  let body = response.slice(split + 4)
  if (/transfer-encoding: chunked/i.test(response.slice(0, split))) {
    let joined = ''
    for (let at = 0; ; ) {
      const eol = body.indexOf('\r\n', at)
      const size = Number.parseInt(body.slice(at, eol), 16)
      if (!size) break
      joined += body.slice(eol + 2, eol + 2 + size)
      at = eol + 2 + size + 2
    }
    body = joined
  }
  return JSON.parse(body)
}

describe.each(['thread', 'process'] as const)('uwsgi listeners, %s placement', (placement) => {
  it.each(['client-node-app.ts', 'client-fetch-app.ts'])(
    "%s: a uwsgi request on unix: and TCP is served as HTTP, with nginx's client address and scheme",
    async (app) => {
      const dir = tempDir()
      const sock = path.join(dir, 'uwsgi.sock')
      const { server } = await serve(app, { placement, uwsgi: [`unix:${sock}`, '127.0.0.1:0'] })
      const tcp = Number(
        server.addresses
          .find((a) => a.startsWith('uwsgi:127'))!
          .split(':')
          .pop(),
      )
      const vars = nginxVars({ uri: '/a%20b?x=1&y=2', method: 'POST', body: 5, contentType: 'text/plain' }, [
        ['HTTP_HOST', 'shop.example'],
        ['HTTP_COOKIE', 'a=1'],
        ['HTTP_COOKIE', 'b=2'],
        ['HTTPS', 'on'],
      ])
      for (const target of [{ path: sock }, { port: tcp }]) {
        const response = await exchange(target, Buffer.concat([uwsgiPacket(vars), Buffer.from('hello')]))
        expect(response).toMatch(/^HTTP\/1\.1 200 /)
        // nginx's uwsgi module reads a body to the close and never reuses the connection.
        expect(response).not.toMatch(/transfer-encoding: chunked/i)
        const answer = bodyOf(response)
        expect(answer.client).toMatchObject({
          address: '203.0.113.7',
          port: 54321,
          scheme: 'https',
          host: 'shop.example',
        })
        expect(answer.body).toBe('hello')
        if (app === 'client-fetch-app.ts') expect(answer.url).toBe('https://shop.example/a%20b?x=1&y=2')
        else {
          expect(answer.url).toBe('/a%20b?x=1&y=2')
          expect(answer.remoteAddress).toBe('203.0.113.7')
          expect(answer.cookie).toBe('a=1; b=2')
        }
      }
    },
  )

  it('clients that reset their connection mid-request cost their request, never the worker', async () => {
    const dir = tempDir()
    const sock = path.join(dir, 'uwsgi.sock')
    const { server } = await serve('client-node-app.ts', {
      placement,
      uwsgi: [`unix:${sock}`, '127.0.0.1:0'],
    })
    const tcp = Number(
      server.addresses
        .find((a) => a.startsWith('uwsgi:127'))!
        .split(':')
        .pop(),
    )
    const packet = uwsgiPacket(nginxVars({ uri: '/gone' }))
    for (let i = 0; i < 200; i++) {
      // TCP: a reset (RST); a Unix socket cannot reset, it closes with the answer unread.
      const socket = i % 2 ? net.connect(tcp, '127.0.0.1') : net.connect(sock)
      socket.on('connect', () => {
        socket.write(packet)
        setTimeout(() => (i % 2 ? socket.resetAndDestroy() : socket.destroy()), i % 3)
      })
      socket.on('error', () => {})
    }
    await new Promise((r) => setTimeout(r, 500))
    expect(await exchange({ path: sock }, uwsgiPacket(nginxVars({ uri: '/ok' })))).toMatch(/^HTTP\/1\.1 200 /)
    expect((await server.stats()).workers.map((w) => w.restarts)).toEqual([0])
  })

  it('a bad packet (modifier1 5, plain HTTP) is refused, counted and closed; the worker keeps serving', async () => {
    const dir = tempDir()
    const sock = path.join(dir, 'uwsgi.sock')
    const { server } = await serve('client-node-app.ts', { placement, uwsgi: [`unix:${sock}`] })
    expect(await exchange({ path: sock }, uwsgiPacket(nginxVars({}), { modifier1: 5 }))).toBe('')
    expect(await exchange({ path: sock }, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('')
    const good = await exchange({ path: sock }, uwsgiPacket(nginxVars({ uri: '/ok' })))
    expect(good).toMatch(/^HTTP\/1\.1 200 /)
    await eventually(
      async () => (await server.stats()).totals.refusedConnections === 2,
      10_000,
      'both refusals counted in stats',
    )
  })
})

describe.each(['thread', 'process'] as const)(
  'PROXY protocol and forwarded headers, %s placement',
  (placement) => {
    it('a PROXY header from a trusted balancer sets the client address; none, or from an untrusted peer, is refused', async () => {
      const { server, port } = await serve('client-fetch-app.ts', {
        placement,
        proxyProtocol: ['127.0.0.1:0'],
      })
      const request = 'GET /who HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n'
      const v1 = await exchange({ port }, `PROXY TCP4 198.51.100.9 10.0.0.1 40000 443\r\n${request}`)
      expect(bodyOf(v1).client).toMatchObject({ address: '198.51.100.9', port: 40000 })
      expect(await exchange({ port }, request)).toBe('')
      expect(server.addresses[0]).toBe(`127.0.0.1:${port}`)
      const { port: guarded } = await serve('client-node-app.ts', {
        placement,
        proxyProtocol: ['127.0.0.1:0'],
        proxyAllowFrom: ['10.0.0.0/8'],
      })
      expect(
        await exchange({ port: guarded }, `PROXY TCP4 198.51.100.9 10.0.0.1 40000 443\r\n${request}`),
      ).toBe('')
    })

    it('PROXY v2 before a TLS handshake, and before a uwsgi packet on a uwsgi TCP listener', async () => {
      const certs = makeCerts()
      onTestFinished(() => fs.rmSync(certs.dir, { recursive: true, force: true }))
      const { server } = await serve('client-node-app.ts', {
        placement,
        bind: ['https://127.0.0.1:0'],
        uwsgi: ['127.0.0.1:0'],
        proxyProtocol: ['https://127.0.0.1:0', '127.0.0.1:0'],
        certfile: certs.cert,
        keyfile: certs.key,
        http2: false,
      })
      const portOf = (prefix: string) =>
        Number(
          server.addresses
            .find((a) => a.startsWith(prefix))!
            .split(':')
            .pop(),
        )
      // v2, PROXY command, TCP over IPv4: 192.0.2.10:51000 → 10.0.0.1:443.
      const v2 = Buffer.concat([
        Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
        Buffer.from([0x21, 0x11, 0x00, 12, 192, 0, 2, 10, 10, 0, 0, 1, 0xc7, 0x38, 0x01, 0xbb]),
      ])
      const answer = await new Promise<string>((resolve, reject) => {
        const raw = net.connect(portOf('https://'), '127.0.0.1', () => {
          raw.write(v2)
          const secure = tls.connect(
            { socket: raw, ca: fs.readFileSync(certs.ca), servername: 'localhost' },
            () => secure.end('GET /tls HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n'),
          )
          const chunks: Buffer[] = []
          secure.on('data', (chunk: Buffer) => chunks.push(chunk))
          secure.on('error', reject)
          secure.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
        })
      })
      expect(bodyOf(answer)).toMatchObject({ url: '/tls', remoteAddress: '192.0.2.10', remotePort: 51000 })
      const uwsgiPort = portOf('uwsgi:')
      const packet = uwsgiPacket(nginxVars({ uri: '/u' }))
      const viaBalancer = await exchange({ port: uwsgiPort }, Buffer.concat([v2, packet]))
      // nginx's REMOTE_ADDR is the client the request names.
      expect(bodyOf(viaBalancer)).toMatchObject({ url: '/u', remoteAddress: '203.0.113.7' })
      expect(await exchange({ port: uwsgiPort }, packet)).toBe('')
    })

    it('X-Forwarded-* from a trusted proxy set the client and scheme; from others they change nothing', async () => {
      const request =
        'GET /who HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 192.0.2.1, 198.51.100.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\nConnection: close\r\n\r\n'
      const { port } = await serve('client-fetch-app.ts', { placement })
      const trusted = bodyOf(await exchange({ port }, request))
      expect(trusted.url).toBe('https://shop.example/who')
      expect(trusted.client).toMatchObject({ address: '198.51.100.2', scheme: 'https', host: 'shop.example' })
      const { port: other } = await serve('client-fetch-app.ts', {
        placement,
        forwardedAllowIps: ['10.0.0.0/8'],
      })
      const untrusted = bodyOf(await exchange({ port: other }, request))
      expect(untrusted.url).toBe('http://app/who')
      expect(untrusted.client).toMatchObject({ address: '127.0.0.1', scheme: 'http', host: 'app' })
    })
  },
)

describe('Unix sockets and thread workers', () => {
  type Served = Awaited<ReturnType<typeof serve>>['server']
  /** The master's acceptor's own figures (its `accepted`: connections the master itself took). */
  const acceptorOf = (server: Served) =>
    server.tree().children!.find((c) => c.name === 'acceptor')!.info as { accepted: number }
  /** A listener's `accepted` in the stats: every connection on the address, whoever accepted it. */
  const acceptedOn = async (server: Served, address: string): Promise<number> =>
    (await server.stats()).listeners?.find((l: { address: string }) => l.address === address)?.accepted ?? 0

  /**
   * GETs in `concurrency` loops until `stop`, to a unix socket (keep-alive) or a TCP port (a
   * connection each); counts answers and failures.
   */
  /** Two reloads and two scalings, one after the other, then a moment for the load to go on. */
  const reloadAndScale = async (server: Served) => {
    await server.reload()
    await server.scale(3)
    await server.reload()
    await server.scale(1)
    await new Promise((r) => setTimeout(r, 300))
  }
  const load = (target: string | number, concurrency: number, route = '/slow?ms=20') => {
    let ok = 0
    const failures: string[] = []
    let running = true
    const agent = new http.Agent({ keepAlive: typeof target === 'string' })
    const where = typeof target === 'string' ? { socketPath: target } : { host: '127.0.0.1', port: target }
    const one = (): Promise<void> =>
      new Promise((resolve) => {
        const req = http.get({ ...where, path: route, agent }, (res) => {
          res.resume()
          res.on('end', () => {
            if (res.statusCode === 200) ok++
            else failures.push(`status ${res.statusCode}`)
            resolve()
          })
        })
        req.on('error', (error) => {
          failures.push(error.message)
          resolve()
        })
      })
    const loops = Array.from({ length: concurrency }, async () => {
      while (running) await one()
    })
    return {
      stop: async () => {
        running = false
        await Promise.all(loops)
        agent.destroy()
        return { ok, failures }
      },
    }
  }

  it('a socket path too long for a private name beside it still ends up at its path, served by threads', async () => {
    const dir = tempDir()
    // sun_path holds 107 bytes: this path fits, a private name beside it does not.
    const deep = path.join(dir, 'd'.repeat(Math.max(1, 98 - dir.length)))
    fs.mkdirSync(deep)
    const sock = path.join(deep, 's.sock')
    expect(Buffer.byteLength(sock)).toBeLessThanOrEqual(107)
    const { server } = await serve('client-node-app.ts', { placement: 'thread', bind: [`unix:${sock}`] })
    expect(fs.lstatSync(sock).isSocket()).toBe(true)
    const answer = await exchange(
      { path: sock },
      'GET /deep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    expect(fs.readdirSync(deep)).toEqual(['s.sock'])
    await server.stop({ graceful: true })
    expect(fs.existsSync(sock)).toBe(false)
  })

  it('process placement on TCP and a Unix socket: connections the master hands over go to the least loaded worker, counting the TCP ones each accepted itself', async () => {
    const dir = tempDir()
    const sock = path.join(dir, 'app.sock')
    const { port } = await serve('lifecycle-app.ts', {
      placement: 'process',
      bind: ['127.0.0.1:0', `unix:${sock}`],
      workers: 2,
    })
    const answer = (options: http.RequestOptions) =>
      new Promise<string>((resolve, reject) => {
        http
          .get({ ...options, agent: false }, async (res) => {
            let body = ''
            for await (const chunk of res) body += chunk
            resolve((JSON.parse(body) as { id: string }).id)
          })
          .on('error', reject)
      })
    // The workers accept TCP themselves, as the kernel wakes them: each serves and closes its share.
    for (let i = 0; i < 40; i++) await answer({ host: '127.0.0.1', port, path: '/' })
    await new Promise((r) => setTimeout(r, 300))
    // Process workers cannot take a Unix socket: the master accepts there and hands each over.
    // Held open together, they are spread evenly between two workers that hold nothing else.
    const held = await Promise.all(
      Array.from({ length: 20 }, () => answer({ socketPath: sock, path: '/slow?ms=1500' })),
    )
    const per = Object.values(Object.groupBy(held, (id) => id)).map((ids) => ids!.length)
    expect(per).toHaveLength(2)
    expect(Math.abs(per[0]! - per[1]!)).toBeLessThanOrEqual(2)
  })

  it.each(['thread', 'process'] as const)(
    '%s placement: the workers accept TCP connections themselves; reloads and scaling under load drop nothing, and every connection is counted',
    async (placement) => {
      const { server, port } = await serve('lifecycle-app.ts', { placement, workers: 2 })
      // A new connection per request: each one is accepted by a worker, under every change below.
      const running = load(port, 8, '/slow?ms=5')
      // The master accepts until the workers have the socket (a copy of it is made first, ~0.1 s).
      await new Promise((r) => setTimeout(r, 300))
      const byMaster = acceptorOf(server).accepted
      await reloadAndScale(server)
      const { ok, failures } = await running.stop()
      expect(failures).toEqual([])
      expect(ok).toBeGreaterThan(50)
      // A ready worker of the serving generation was there throughout: the master accepted no more.
      expect(acceptorOf(server).accepted).toBe(byMaster)
      expect(byMaster).toBeLessThan(ok / 4)
      // The listener's figure is every connection, as the workers report them (every 20 ms at most).
      const counted = await eventually(
        async () => {
          const accepted = await acceptedOn(server, `127.0.0.1:${port}`)
          return accepted >= ok && accepted
        },
        5_000,
        'the workers to report their connections',
      )
      expect(counted).toBeLessThanOrEqual(ok + 8)
      await server.stop({ graceful: true })
    },
  )

  it.each(['thread', 'process'] as const)(
    '%s placement: reloads, scaling and a graceful stop under load over a Unix socket drop nothing; threads accept there themselves',
    async (placement) => {
      const dir = tempDir()
      const sock = path.join(dir, 'app.sock')
      const { server } = await serve('lifecycle-app.ts', { placement, bind: [`unix:${sock}`], workers: 2 })
      const running = load(sock, 8)
      await new Promise((r) => setTimeout(r, 300))
      await reloadAndScale(server)
      const { ok, failures } = await running.stop()
      expect(failures).toEqual([])
      expect(ok).toBeGreaterThan(50)
      // Thread workers took every connection themselves (and reported them); process workers
      // got them from the master (which counts them in its own figure).
      expect(await acceptedOn(server, `unix:${sock}`)).toBeGreaterThan(0)
      if (placement === 'thread') expect(acceptorOf(server).accepted).toBe(0)
      // A graceful stop: the request in flight is answered, then the socket file is gone.
      const inFlight = new Promise<number | undefined>((resolve) => {
        http
          .get({ socketPath: sock, path: '/slow?ms=600', agent: false }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode))
          })
          .on('error', () => resolve(undefined))
      })
      await new Promise((r) => setTimeout(r, 200))
      await server.stop({ graceful: true })
      expect(await inFlight).toBe(200)
      expect(fs.existsSync(sock)).toBe(false)
    },
  )
})
