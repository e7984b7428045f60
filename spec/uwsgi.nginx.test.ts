/**
 * The uwsgi request side behind a real nginx (`uwsgi_pass` with the stock uwsgi_params): what
 * nginx sends is read with readUwsgiRequest and served by node:http, and what the client of
 * nginx gets back is what the app answered. Needs nginx (Debian package nginx-light); without
 * it the tests say so and skip.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it, onTestFinished } from 'vitest'
import { uwsgiResponse } from '../transports/uwsgi/uwsgi-response.ts'
import { tempDir } from './support/troupe-cli.ts'
import { uwsgiTestServer } from './support/uwsgi.ts'

const hasNginx = await promisify(execFile)('nginx', ['-v']).then(
  () => true,
  () => false,
)
const UWSGI_PARAMS = '/etc/nginx/uwsgi_params'

/** nginx on a Unix socket in a temp dir, passing everything to `upstreamPort` over uwsgi. */
const startNginx = async (upstreamPort: number): Promise<string> => {
  const dir = tempDir()
  const front = path.join(dir, 'front.sock')
  for (const temp of ['body', 'uwsgi', 'proxy', 'fastcgi', 'scgi']) fs.mkdirSync(path.join(dir, temp))
  const conf = path.join(dir, 'nginx.conf')
  fs.writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  uwsgi_temp_path ${dir}/uwsgi;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 8m;
  server {
    listen unix:${front};
    server_name shop.example;
    location / {
      include ${UWSGI_PARAMS};
      uwsgi_pass 127.0.0.1:${upstreamPort};
    }
  }
}
`,
  )
  const nginx: ChildProcess = spawn('nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], {
    stdio: 'ignore',
  })
  onTestFinished(async () => {
    if (nginx.exitCode !== null) return
    const exited = new Promise((resolve) => nginx.once('exit', resolve))
    nginx.kill('SIGTERM')
    await exited
  })
  const exited = new Promise<never>((_, reject) =>
    nginx.once('exit', (code) =>
      reject(new Error(`nginx exited (${code}): ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`)),
    ),
  )
  // Ready when its socket takes a connection.
  const ready = (async () => {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const probe = net.connect(front, () => {
          probe.destroy()
          resolve(true)
        })
        probe.on('error', () => resolve(false))
      })
      if (ok) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  await Promise.race([ready, exited])
  return front
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

const request = (
  socketPath: string,
  options: { method?: string; path: string; headers?: http.OutgoingHttpHeaders; body?: Buffer[] },
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { host: 'shop.example', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        )
      },
    )
    req.on('error', reject)
    for (const part of options.body ?? []) req.write(part)
    req.end()
  })

/** False, and says why, where nginx is not installed: the test then has nothing to run against. */
const withoutNginx = (): boolean => {
  if (hasNginx) return false
  console.log('skipped: nginx not installed (Debian package nginx-light)')
  return true
}

describe('behind nginx (uwsgi_pass)', () => {
  it("the app sees the request the client sent nginx, and the client gets the app's answer", async () => {
    if (withoutNginx()) return
    const seen: Array<Pick<http.IncomingMessage, 'method' | 'url' | 'headers' | 'httpVersion'>> = []
    const server = await uwsgiTestServer((req, res) => {
      uwsgiResponse(res)
      seen.push({ method: req.method, url: req.url, headers: req.headers, httpVersion: req.httpVersion })
      res.setHeader('X-App', 'yes')
      res.end(`hello ${req.url}`)
    })
    const front = await startNginx(server.port)
    const reply = await request(front, {
      path: '/search?q=caf%C3%A9&page=2',
      headers: { cookie: ['a=1', 'b=2'], 'x-request-id': 'r-1', accept: 'text/plain' },
    })
    expect(reply).toMatchObject({ status: 200, headers: { 'x-app': 'yes' } })
    expect(reply.body.toString()).toBe('hello /search?q=caf%C3%A9&page=2')
    expect(seen).toEqual([
      {
        method: 'GET',
        url: '/search?q=caf%C3%A9&page=2',
        httpVersion: '1.1',
        headers: expect.objectContaining({
          host: 'shop.example',
          cookie: 'a=1; b=2',
          'x-request-id': 'r-1',
          accept: 'text/plain',
        }),
      },
    ])
    expect(seen[0]!.headers).not.toHaveProperty('content-length')
    expect(server.results[0]).toMatchObject({ kind: 'request', https: false, contentLength: 0 })
  })

  it('a chunked upload reaches the app whole, framed by the length nginx counted', async () => {
    if (withoutNginx()) return
    const server = await uwsgiTestServer(async (req, res) => {
      uwsgiResponse(res)
      const hash = crypto.createHash('sha256')
      for await (const chunk of req) hash.update(chunk as Buffer)
      res.end(
        `${req.headers['content-length']} ${req.headers['transfer-encoding'] ?? '-'} ${hash.digest('hex')}`,
      )
    })
    const front = await startNginx(server.port)
    const body = crypto.randomBytes(1 << 20)
    const parts: Buffer[] = []
    for (let i = 0; i < body.length; i += 100_000) parts.push(body.subarray(i, i + 100_000))
    const reply = await request(front, { method: 'POST', path: '/upload', body: parts })
    expect(reply.status).toBe(200)
    expect(reply.body.toString()).toBe(
      `${body.length} - ${crypto.createHash('sha256').update(body).digest('hex')}`,
    )
  })

  it('a streamed answer of unknown length reaches the client whole and at once', async () => {
    if (withoutNginx()) return
    const server = await uwsgiTestServer((_req, res) => {
      uwsgiResponse(res)
      res.write('first,')
      setTimeout(() => res.end('second'), 20)
    })
    const front = await startNginx(server.port)
    const reply = await request(front, { path: '/stream', headers: { connection: 'keep-alive' } })
    expect(reply.status).toBe(200)
    expect(reply.body.toString()).toBe('first,second')
  })

  it('a WebSocket-style upgrade through nginx becomes a tunnel to the app', async () => {
    if (withoutNginx()) return
    const server = await uwsgiTestServer((_req, res) => res.end('not an upgrade'))
    server.http.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
      if (head.length > 0) socket.write(head)
      socket.pipe(socket)
    })
    const front = await startNginx(server.port)
    const client = net.connect(front)
    onTestFinished(() => {
      client.destroy()
    })
    let received = ''
    client.on('data', (chunk) => {
      received += chunk
    })
    client.write('GET /ws HTTP/1.1\r\nHost: shop.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
    await expect
      .poll(() => received, { timeout: 10_000 })
      .toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*\r\n\r\n$/)
    client.write('ping through the tunnel')
    await expect.poll(() => received, { timeout: 10_000 }).toMatch(/\r\n\r\nping through the tunnel$/)
  })
})
