/**
 * https:// binds: the worker that takes a connection does the handshake (the acceptor hands it
 * the raw TCP socket), in both placements and under reuseport; the app sees https URLs. Files
 * renewed on disk are served after a reload (HUP) while a request in flight on the old
 * certificate finishes; files that do not make a TLS context are refused in one line at
 * start-up, and on a reload the old generation keeps serving. Mutual TLS with caCerts, and the
 * minimum version. The client is Node's https/tls with a test CA made by openssl.
 */
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import { copyFileSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import type tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import { startServer } from '../runtime/master/master.ts'
import { makeCerts, type TestCerts } from './support/tls-certs.ts'
import { run, tempDir } from './support/troupe-cli.ts'

const app = fileURLToPath(new URL('./fixtures/scheme-app.ts', import.meta.url))
let certs: TestCerts
beforeAll(() => {
  certs = makeCerts()
})
afterAll(() => {
  if (certs) rmSync(certs.dir, { recursive: true, force: true })
})

/** The certificate files the server reads, copied so a test can replace them. */
const liveFiles = () => {
  const dir = tempDir()
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  copyFileSync(certs.cert, cert)
  copyFileSync(certs.key, key)
  return { cert, key }
}

const serve = async (flags: Record<string, unknown>) => {
  const { config } = resolveConfig({ flags: { app, workers: 2, ...flags } })
  const server = await startServer(config)
  onTestFinished(() => server.stop({ graceful: false }))
  return server
}

const fingerprint = (pem: string) => new crypto.X509Certificate(readFileSync(pem)).fingerprint256

/** GET over TLS trusting the test CA; the body and the fingerprint of the certificate the server presented. */
const get = (
  port: number,
  pathname = '/',
  options: https.RequestOptions = {},
): Promise<{ status: number; body: string; presented: string; protocol: string | null }> =>
  new Promise((resolve, reject) => {
    const request = https.get(
      { host: '127.0.0.1', port, path: pathname, ca: readFileSync(certs.ca), agent: false, ...options },
      (res) => {
        const socket = res.socket as tls.TLSSocket
        const presented = socket.getPeerCertificate().fingerprint256
        const protocol = socket.getProtocol()
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode!, body, presented, protocol }))
      },
    )
    request.on('error', reject)
  })

const portOf = (address: string) => Number(/:(\d+)$/.exec(address)![1])

describe.each([
  ['thread', 'handoff'],
  ['process', 'handoff'],
  ['thread', 'reuseport'],
] as const)('%s workers, %s', (placement, strategy) => {
  it('serve https:// beside http://: the handshake in the worker, https URLs for the app', async () => {
    const server = await serve({
      placement,
      strategy,
      bind: ['https://127.0.0.1:0', '127.0.0.1:0'],
      certfile: certs.cert,
      keyfile: certs.key,
    })
    const [secure, plain] = server.addresses
    expect(secure).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const answer = await get(portOf(secure!), '/hello')
    expect(answer.status).toBe(200)
    expect(answer.body).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${portOf(secure!)}/hello w[12] 1\\n$`))
    expect(answer.presented).toBe(fingerprint(certs.cert))
    expect(answer.protocol).toMatch(/^TLSv1\.[23]$/)
    expect(await (await fetch(`http://${plain}/x`)).text()).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/x w[12] 1\n$/,
    )
    // A client that does not speak TLS to the https port is cut, and the workers serve on.
    const refused = await fetch(`http://${secure!.slice('https://'.length)}/`).catch((error: Error) => error)
    expect(refused).toBeInstanceOf(Error)
    expect((await get(portOf(secure!))).status).toBe(200)
    expect(server.stats().totals.restarts).toBe(0)
  })
})

describe('certificates', () => {
  it('renewed files are served after a reload; a request in flight on the old certificate finishes', async () => {
    const files = liveFiles()
    const server = await serve({ bind: ['https://127.0.0.1:0'], certfile: files.cert, keyfile: files.key })
    const port = portOf(server.addresses[0]!)
    expect((await get(port)).presented).toBe(fingerprint(certs.cert))
    const inFlight = get(port, '/slow?ms=1500')
    await new Promise((resolve) => setTimeout(resolve, 300))
    copyFileSync(certs.cert2, files.cert)
    copyFileSync(certs.key2, files.key)
    await server.reload()
    const fresh = await get(port)
    expect(fresh.presented).toBe(fingerprint(certs.cert2))
    expect(fresh.body).toMatch(/ 2\n$/)
    const old = await inFlight
    expect(old.status).toBe(200)
    expect(old.presented).toBe(fingerprint(certs.cert))
    expect(old.body).toMatch(/ 1\n$/)
  })

  it('a reload to files that do not match keeps the old generation serving its certificate', async () => {
    const files = liveFiles()
    const server = await serve({ bind: ['https://127.0.0.1:0'], certfile: files.cert, keyfile: files.key })
    const port = portOf(server.addresses[0]!)
    copyFileSync(certs.strayKey, files.key)
    await expect(server.reload()).rejects.toMatchObject({
      code: 'TROUPE_E_CONFIG',
      message: expect.stringMatching(/do not make a TLS context: .*key values mismatch/),
    })
    const answer = await get(port)
    expect(answer.presented).toBe(fingerprint(certs.cert))
    expect(answer.body).toMatch(/ 1\n$/)
  })

  it.each([
    [
      'no certificate',
      [] as string[],
      /^troupe: bind https:\/\/127\.0\.0\.1:0 serves TLS: set certfile and keyfile/,
    ],
    [
      'a missing file',
      ['--certfile', '/nonexistent/cert.pem', '--keyfile', 'KEY'],
      /^troupe: certfile: cannot read \/nonexistent\/cert\.pem: ENOENT/,
    ],
    [
      "a key that is not the certificate's",
      ['--certfile', 'CERT', '--keyfile', 'STRAY'],
      /^troupe: certfile .* and keyfile .* do not make a TLS context: .*key values mismatch/,
    ],
  ])('troupe serve refuses %s at start-up, in one coded line', async (_what, flags, line) => {
    const args = flags.map((f) =>
      f === 'KEY' ? certs.key : f === 'CERT' ? certs.cert : f === 'STRAY' ? certs.strayKey : f,
    )
    const exit = await run(['serve', app, '--bind', 'https://127.0.0.1:0', ...args], { cwd: tempDir() })
    expect(exit.code).toBe(1)
    const lines = exit.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(line)
    expect(lines[0]).toMatch(/\[TROUPE_E_CONFIG\]$/)
  })
})

describe('TLS settings', () => {
  it('caCerts: a client certificate signed by that CA is required (mutual TLS)', async () => {
    const server = await serve({
      bind: ['https://127.0.0.1:0'],
      certfile: certs.cert,
      keyfile: certs.key,
      caCerts: certs.ca,
    })
    const port = portOf(server.addresses[0]!)
    const refused = await get(port).catch((error: Error) => error)
    expect(refused).toBeInstanceOf(Error)
    const answer = await get(port, '/', {
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
    })
    expect(answer.status).toBe(200)
  })

  it('tlsMinVersion TLSv1.3 refuses a TLS 1.2 client', async () => {
    const server = await serve({
      bind: ['https://127.0.0.1:0'],
      certfile: certs.cert,
      keyfile: certs.key,
      tlsMinVersion: 'TLSv1.3',
    })
    const port = portOf(server.addresses[0]!)
    expect(await get(port, '/', { maxVersion: 'TLSv1.2' }).catch((error: Error) => error)).toBeInstanceOf(
      Error,
    )
    expect((await get(port)).protocol).toBe('TLSv1.3')
  })

  it.each(['thread', 'process'] as const)(
    '%s workers share session ticket keys: a session resumes on whichever worker the next connection reaches',
    async (placement) => {
      const server = await serve({
        placement,
        bind: ['https://127.0.0.1:0'],
        certfile: certs.cert,
        keyfile: certs.key,
      })
      const port = portOf(server.addresses[0]!)
      // A new connection per request, each offering the session the agent kept from the last.
      const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 4 })
      onTestFinished(() => agent.destroy())
      const seen: { worker: string; reused: boolean }[] = []
      for (let i = 0; i < 12; i++) {
        const answer = await new Promise<{ worker: string; reused: boolean }>((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port, path: '/', ca: readFileSync(certs.ca), agent }, (res) => {
              const reused = (res.socket as tls.TLSSocket).isSessionReused()
              let body = ''
              res.setEncoding('utf8')
              res.on('data', (chunk: string) => {
                body += chunk
              })
              res.on('end', () => resolve({ worker: body.split(' ')[1]!, reused }))
            })
            .on('error', reject)
        })
        seen.push(answer)
      }
      expect(seen[0]!.reused).toBe(false)
      expect(seen.slice(1).filter((s) => !s.reused)).toEqual([])
      // Both workers served, so some sessions resumed on the worker that did not issue them.
      expect(new Set(seen.map((s) => s.worker))).toEqual(new Set(['w1', 'w2']))
    },
  )

  it('curl --cacert talks to it', async () => {
    const server = await serve({ bind: ['https://127.0.0.1:0'], certfile: certs.cert, keyfile: certs.key })
    // Not execFileSync: the master runs in this process, and its acceptor must keep accepting.
    const { stdout: out } = await promisify(execFile)(
      'curl',
      ['-sS', '--max-time', '10', '--cacert', certs.ca, `${server.addresses[0]}/curl`],
      { encoding: 'utf8' },
    )
    expect(out).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/curl w[12] 1\n$/)
  })
})
