/**
 * troupe behind a real nginx (Debian's nginx-light), with the README's "Behind nginx" configs
 * and commands as written: the socket moved into a temp directory, nginx listening on a free
 * port. Per upstream shape and placement, what a user sees through nginx: the request line,
 * repeated headers and cookies, chunked and large bodies reach the app intact; nginx reuses
 * its connections to troupe; nginx's own 504 leaves troupe healthy; HUP reloads under load
 * fail no request. Where nginx is missing and cannot be installed (not root), each test says
 * why and returns.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Arrived } from './fixtures/proxied-app.ts'
import { eventually } from './support/manual-clock.ts'
import { type Nginx, nginxMissing, startNginx } from './support/nginx.ts'
import { freePort } from './support/nginx-config.ts'
import { markedBlock, onPortZero, readReadme } from './support/readme.ts'
import { fixturePath } from './support/serve.ts'
import { run, start, type Troupe, tempDir } from './support/troupe-cli.ts'
import { startWrk } from './support/wrk.ts'

const readme = readReadme()
const readmeBlock = (mark: string): string => markedBlock(readme, mark)

/**
 * An upstream shape: the README's nginx block and troupe command for it, and the address
 * both name (a socket path or HOST:PORT), which the test replaces with its own.
 */
interface Shape {
  readonly name: string
  readonly site: string
  readonly serve: string
  /** How the README names the upstream address (in both the command and the nginx block). */
  readonly address: string
  /** The address troupe is started on here, in `dir`; a `:0` port is read back from the serving line. */
  readonly local: (dir: string) => string
  /** The protocol nginx speaks to troupe. */
  readonly protocol: 'http' | 'uwsgi'
  /** nginx's directive for how long it waits for troupe's answer. */
  readonly readTimeout: string
}

const proxyPass: Shape = {
  name: 'proxy_pass over a Unix socket',
  site: 'nginx-proxy-site',
  serve: 'nginx-proxy-serve',
  address: 'unix:/run/troupe/app.sock',
  local: (dir) => `unix:${path.join(dir, 'app.sock')}`,
  protocol: 'http',
  readTimeout: 'proxy_read_timeout',
}

const uwsgiPass: Shape = {
  name: 'uwsgi_pass over a Unix socket',
  site: 'nginx-uwsgi-site',
  serve: 'nginx-uwsgi-serve',
  address: 'unix:/run/troupe/app-uwsgi.sock',
  local: (dir) => `unix:${path.join(dir, 'app-uwsgi.sock')}`,
  protocol: 'uwsgi',
  readTimeout: 'uwsgi_read_timeout',
}

/** The same README block and command, troupe's uwsgi listener on TCP (`uwsgi_pass 127.0.0.1:PORT`). */
const uwsgiPassTcp: Shape = {
  ...uwsgiPass,
  name: 'uwsgi_pass over TCP',
  local: () => '127.0.0.1:0',
}

const shapes: readonly Shape[] = [proxyPass, uwsgiPass, uwsgiPassTcp]
const placements = ['thread', 'process'] as const

/**
 * The README's troupe command for `shape` as argv (after `troupe`), with the fixture app: its
 * upstream on `address`, any other bind moved into `dir` (or to port 0) as the README tests move them.
 */
const serveArgs = (shape: Shape, address: string, dir: string): string[] => {
  const line = onPortZero(readmeBlock(shape.serve).trim().replaceAll(shape.address, address), dir)
  const words = line.replace(/^npx troupe /, '').split(/\s+/)
  expect(words[0], line).toBe('serve')
  expect(line).toContain(address)
  return words.map((word) => (word === 'app.ts' ? fixturePath('proxied-app.ts') : word))
}

/** What the serving line says the upstream address is (a `:0` port resolved). */
const servedAddress = (troupe: Troupe, asked: string, addresses: readonly string[]): string => {
  if (!asked.endsWith(':0')) return asked
  const host = asked.slice(0, -2)
  const port = addresses
    .map((a) => new RegExp(`${host.replaceAll('.', '\\.')}:(\\d+)`).exec(a)?.[1])
    .find(Boolean)
  if (!port || port === '0') throw new Error(`no ${host}:PORT in the serving line:\n${troupe.stderr}`)
  return `${host}:${port}`
}

interface Setup {
  readonly troupe: Troupe
  readonly nginx: Nginx
  readonly control: string
  readonly dir: string
}

/**
 * troupe started with the README's command (plus `--placement` and a control socket in the
 * temp dir), then nginx with the README's block, `listen 80` moved to the free port and the
 * upstream to troupe's address. `http` adds directives to nginx's http block; `edit` changes
 * the site before it runs.
 */
const setUp = async (
  shape: Shape,
  placement: (typeof placements)[number],
  options: { http?: string; edit?: (site: string) => string } = {},
): Promise<Setup> => {
  const dir = tempDir()
  const control = path.join(dir, 'control.sock')
  const asked = shape.local(dir)
  const troupe = start([...serveArgs(shape, asked, dir), '--placement', placement, '--control', control], {
    cwd: dir,
  })
  const { addresses } = await troupe.serving()
  const address = servedAddress(troupe, asked, addresses)
  const readme = readmeBlock(shape.site)
  expect(readme).toContain('listen 80;')
  expect(readme).toContain(shape.address)
  const site = (options.edit ?? ((s) => s))(readme.replaceAll(shape.address, address))
  const nginx = await startNginx({
    http: options.http,
    site: (port) => site.replace('listen 80;', `listen 127.0.0.1:${port};`),
  })
  return { troupe, nginx, control, dir }
}

interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/**
 * One request to nginx on its own connection; `headers` is a raw list (name, value, name,
 * value…) so a name may repeat; a body given as chunks is sent chunked.
 */
const request = (
  nginx: Nginx,
  target: string,
  init: { method?: string; headers?: string[]; body?: Buffer; chunks?: Buffer[] } = {},
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    // A raw header list gets none of node's defaults: Host is the client's to send.
    const headers = ['Host', `127.0.0.1:${nginx.port}`, ...(init.headers ?? [])]
    if (init.body) headers.push('Content-Length', String(init.body.length))
    const req = http.request(
      {
        host: '127.0.0.1',
        port: nginx.port,
        path: target,
        method: init.method ?? 'GET',
        headers,
        agent: false,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
        res.on('error', reject)
      },
    )
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer to ${target} within 30 s`)))
    req.on('error', reject)
    if (init.chunks) for (const chunk of init.chunks) req.write(chunk)
    req.end(init.body)
  })

/** The app's account of what reached it, from a 200 answer. */
const arrived = (reply: Reply): Arrived => {
  expect(reply.status, reply.body).toBe(200)
  return JSON.parse(reply.body) as Arrived
}

interface Stats {
  readonly workers: ReadonlyArray<{
    readonly id: string
    readonly generation: number
    readonly startedAt: number
    readonly restarts: number
  }>
  readonly totals: { readonly requests: number; readonly inflight: number }
}

/** `troupe stats --json`, as an operator runs it. */
const stats = async (control: string, cwd: string): Promise<Stats> => {
  const exit = await run(['stats', '--json', '--control', control], { cwd })
  expect(exit.code, exit.stderr).toBe(0)
  return JSON.parse(exit.stdout) as Stats
}

/** Each worker as a restart would change it: a replaced worker starts anew, a restarted one counts it. */
const workerIdentities = (s: Stats) =>
  s.workers.map((w) => ({ id: w.id, startedAt: w.startedAt, restarts: w.restarts }))

const sha256 = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('hex')

/** Why nginx cannot run here (checked once, installing nginx-light first when root), or null. */
let nginxAbsent: string | null = null
beforeAll(() => {
  nginxAbsent = nginxMissing()
}, 600_000)

/** The test's nginx cannot run here: say why and skip its body. */
const missing = (): boolean => {
  if (nginxAbsent) console.log(`skipped: ${nginxAbsent}`)
  return nginxAbsent !== null
}

describe('the test nginx', () => {
  it('moves to another port when its port was taken between the probe and the bind', async () => {
    if (missing()) return
    const squatter = net.createServer()
    await new Promise<void>((resolve) => squatter.listen({ host: '127.0.0.1', port: 0 }, resolve))
    onTestFinished(() => new Promise<void>((resolve) => squatter.close(() => resolve())))
    const taken = (squatter.address() as net.AddressInfo).port
    const offered: number[] = []
    const ports = async () => {
      const port = offered.length === 0 ? taken : await freePort()
      offered.push(port)
      return port
    }
    const nginx = await startNginx({
      ports,
      site: (port) => `server {\n  listen 127.0.0.1:${port};\n  return 200 "up\\n";\n}`,
    })
    expect(offered).toHaveLength(2)
    expect(nginx.port).toBe(offered[1])
    expect((await request(nginx, '/')).body).toBe('up\n')
    const { pid } = nginx
    await nginx.stop()
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false)
  }, 60_000)
})

describe.each(shapes)('behind nginx: $name', (shape) => {
  describe.each(placements)('--placement %s', (placement) => {
    it('a request line, repeated headers and cookies reach the app as sent', async () => {
      if (missing()) return
      const setup = await setUp(shape, placement)
      const target = '/a%20b/c%2Fd?q=1&r=%20s&t'
      const got = arrived(
        await request(setup.nginx, target, {
          headers: ['X-Twice', 'one', 'X-Twice', 'two', 'Cookie', 'a=1', 'Cookie', 'b=2; c=3'],
        }),
      )
      expect(got.method).toBe('GET')
      expect(got.url).toBe(target)
      expect(got.headers['x-twice']).toBe('one, two')
      // nginx 1.22 passes each Cookie line on (a var each over uwsgi); the app gets them joined with '; '.
      expect(got.headers.cookie).toBe('a=1; b=2; c=3')
      if (shape.protocol === 'http') {
        // The README's proxy_set_header lines.
        expect(got.headers['x-forwarded-for']).toBe('127.0.0.1')
        expect(got.headers['x-forwarded-proto']).toBe('http')
        expect(got.headers.host).toBe('127.0.0.1')
        expect(got.headers.connection).toBeUndefined()
      } else {
        // Debian's uwsgi_params sends `HTTP_HOST $host` (no port); stock nginx's passes the client's Host on.
        const params = fs.readFileSync(path.join(setup.nginx.dir, 'uwsgi_params'), 'utf8')
        const hostOnly = /^\s*uwsgi_param\s+HTTP_HOST\s+\$host;/m.test(params)
        expect(got.headers.host).toBe(hostOnly ? '127.0.0.1' : `127.0.0.1:${setup.nginx.port}`)
      }
    }, 60_000)

    it('a chunked POST and a 1 MiB POST arrive intact', async () => {
      if (missing()) return
      const setup = await setUp(shape, placement)
      const chunks = Array.from({ length: 8 }, () => crypto.randomBytes(10_000))
      const chunked = arrived(await request(setup.nginx, '/chunked', { method: 'POST', chunks }))
      const whole = Buffer.concat(chunks)
      expect(chunked).toMatchObject({ method: 'POST', bodyBytes: whole.length, bodySha256: sha256(whole) })
      // nginx read the chunked body whole and sent it on with its length.
      expect(chunked.headers['transfer-encoding']).toBeUndefined()
      expect(chunked.headers['content-length']).toBe(String(whole.length))

      const big = crypto.randomBytes(1024 * 1024)
      const large = arrived(await request(setup.nginx, '/large', { method: 'POST', body: big }))
      expect(large).toMatchObject({ method: 'POST', bodyBytes: big.length, bodySha256: sha256(big) })
    }, 60_000)

    /** How many connections troupe served `requests` requests on, as the app saw them. */
    const through = async (setup: Setup, requests: number): Promise<number> => {
      const seen = new Set<string>()
      for (let i = 0; i < requests; i++) seen.add(arrived(await request(setup.nginx, `/n${i}`)).connection)
      return seen.size
    }

    if (shape.protocol === 'http')
      it('nginx reuses its connections to troupe (and opens one per request without keepalive)', async () => {
        if (missing()) return
        const kept = await through(await setUp(shape, placement), 40)
        expect(kept).toBeGreaterThanOrEqual(1)
        expect(kept).toBeLessThanOrEqual(4)
        // The same config without `keepalive`: the contrast shows connections are told apart.
        const edit = (site: string) => site.replace(/^\s*keepalive\b.*$/gm, '')
        expect(await through(await setUp(shape, placement, { edit }), 40)).toBe(40)
      }, 90_000)
    else
      it('nginx opens a connection to troupe per request, even with keepalive in the upstream', async () => {
        if (missing()) return
        // nginx's uwsgi module never keeps an upstream connection: it closes each after the answer.
        const edit = (site: string) => site.replace(/(upstream \S+ \{)/, '$1\n    keepalive 16;')
        const setup = await setUp(shape, placement, { edit })
        expect(setup.nginx.config).toMatch(/keepalive 16;/)
        expect(await through(setup, 20)).toBe(20)
      }, 90_000)

    it("a request past nginx's read timeout gets nginx's 504; troupe serves on, no worker restarted", async () => {
      if (missing()) return
      const setup = await setUp(shape, placement, { http: `${shape.readTimeout} 1s;` })
      const before = await stats(setup.control, setup.dir)
      const timedOut = await request(setup.nginx, '/slow?ms=4000')
      expect(timedOut.status).toBe(504)
      expect(timedOut.headers.server).toMatch(/^nginx/)
      expect(setup.nginx.errors()).toMatch(/upstream timed out/)
      expect(arrived(await request(setup.nginx, '/after')).url).toBe('/after')
      // troupe saw nginx go away: nothing stays in flight.
      const after = await eventually(
        async () => {
          const now = await stats(setup.control, setup.dir)
          return now.totals.inflight === 0 && now
        },
        15_000,
        'no request in flight',
      )
      expect(workerIdentities(after)).toEqual(workerIdentities(before))
      expect(setup.troupe.stderr).not.toMatch(/exited|restarted/)
    }, 60_000)

    if (shape.protocol === 'uwsgi')
      it('uwsgi_modifier1 5 (not a WSGI request): nginx answers 502, troupe logs one line and serves on', async () => {
        if (missing()) return
        // A second location beside the README's, the same upstream with another modifier1.
        const edit = (site: string) => {
          const upstream = /uwsgi_pass (\S+);/.exec(site)?.[1]
          expect(upstream, site).toBeDefined()
          return site.replace(
            /(location \/ \{)/,
            `location /mod5 {\n        include uwsgi_params;\n        uwsgi_modifier1 5;\n        uwsgi_pass ${upstream};\n    }\n\n    $1`,
          )
        }
        const setup = await setUp(shape, placement, { edit })
        const before = await stats(setup.control, setup.dir)
        const from = setup.troupe.stderr.length
        const refused = await request(setup.nginx, '/mod5')
        expect(refused.status).toBe(502)
        expect(refused.headers.server).toMatch(/^nginx/)
        const logged = await setup.troupe.waitForStderr(/^.*modifier1.*$/m, 10_000, from)
        expect(arrived(await request(setup.nginx, '/after')).url).toBe('/after')
        expect(setup.troupe.stderr.slice(from).trim().split('\n'), logged[0]).toHaveLength(1)
        const after = await stats(setup.control, setup.dir)
        expect(workerIdentities(after)).toEqual(workerIdentities(before))
      }, 60_000)

    it('two HUP reloads under wrk through nginx fail no request', async () => {
      if (missing()) return
      const setup = await setUp(shape, placement)
      const load = startWrk(`${setup.nginx.base}/`, { connections: 16 })
      const servedSince = async (count: number) => {
        const from = (await stats(setup.control, setup.dir)).totals.requests
        await eventually(
          async () => (await stats(setup.control, setup.dir)).totals.requests >= from + count,
          20_000,
          `${count} more requests served`,
        )
      }
      await servedSince(200)
      for (const generation of [2, 3]) {
        const from = setup.troupe.stderr.length
        setup.troupe.signal('SIGHUP')
        await setup.troupe.waitForStderr(
          new RegExp(`^troupe: reloaded: generation ${generation}, 2 workers$`, 'm'),
          60_000,
          from,
        )
        await servedSince(200)
      }
      const result = await load.stop()
      const seen = `${result.output}\n--- nginx's error log\n${setup.nginx.errors()}`
      expect(result.socketErrors, seen).toBe(0)
      expect(result.non2xx, seen).toBe(0)
      expect(result.requests).toBeGreaterThan(600)
      // nginx answered no request with an error of its own (its 499s are wrk hanging up at the end).
      const lines = setup.nginx.access().split('\n')
      expect(lines.filter((line) => /" 5\d\d /.test(line))).toEqual([])
    }, 120_000)
  })
})
