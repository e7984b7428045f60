/**
 * The admin listener of a real `troupe serve`: /metrics counts exactly the requests a test
 * sent, through every placement and kind; the token guards everything but the probes; /readyz
 * turns 503 the moment a graceful stop begins, while the request in flight still completes.
 */
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { adminGet, parseAdminLine, sample } from './support/admin.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { fixturePath } from './support/serve.ts'
import { get, run, start, tempDir } from './support/troupe-cli.ts'

const app = fixturePath('behaviour-app.ts')

/** Starts `troupe serve` on port 0 with `--admin ADMIN`; resolves once it serves, with its admin URL. */
const serveWithAdmin = async (
  admin: string,
  flags: readonly string[] = [],
  env: Record<string, string> = {},
) => {
  const troupe = start(['serve', app, '--bind', '127.0.0.1:0', '--admin', admin, ...flags], {
    cwd: tempDir(),
    env,
  })
  const { port } = await troupe.serving()
  const url = parseAdminLine(troupe.stderr)
  if (!url) throw new Error(`no admin line; stderr:\n${troupe.stderr}`)
  return { troupe, port, admin: url }
}

const metrics = async (admin: string, token?: string): Promise<string> => {
  const answer = await adminGet(admin, '/metrics', token ? { token } : {})
  expect(answer.status, answer.body).toBe(200)
  return answer.body
}

describe('/metrics', () => {
  it.each([
    ['thread', 'coroutine'],
    ['thread', 'thread-pool'],
    ['process', 'coroutine'],
    ['process', 'thread-pool'],
  ])(
    'counts every request two %s workers of kind %s answered, by status class, in the histogram and per listener',
    async (placement, kind) => {
      const { troupe, port, admin } = await serveWithAdmin('127.0.0.1:0', [
        '--workers',
        '2',
        '--placement',
        placement,
        '--kind',
        kind,
        '--threads',
        '2',
      ])
      const sent = [...Array<string>(5).fill('/hello'), ...Array<string>(3).fill('/nope'), '/throw']
      const statuses = []
      for (const pathname of sent) statuses.push((await get(port, pathname)).status)
      expect(statuses).toEqual([200, 200, 200, 200, 200, 404, 404, 404, 500])

      // Workers report about once a second: wait until every request is in, then compare.
      const text = await eventually(
        async () => {
          const body = await metrics(admin)
          return (sample(body, 'troupe_http_request_duration_seconds_count') ?? 0) >= sent.length && body
        },
        15_000,
        'the workers to report all requests',
      )
      const byClass = (c: string) => sample(text, `troupe_http_requests_total{status_class="${c}"}`)
      expect([byClass('1xx'), byClass('2xx'), byClass('3xx'), byClass('4xx'), byClass('5xx')]).toEqual([
        0, 5, 0, 3, 1,
      ])
      expect(sample(text, 'troupe_http_request_duration_seconds_count')).toBe(sent.length)
      expect(sample(text, 'troupe_http_request_duration_seconds_bucket{le="+Inf"}')).toBe(sent.length)
      expect(sample(text, 'troupe_http_request_duration_seconds_sum')).toBeGreaterThan(0)
      expect(sample(text, `troupe_connections_accepted_total{listener="127.0.0.1:${port}"}`)).toBe(
        sent.length,
      )
      expect(sample(text, `troupe_connections_refused_total{listener="127.0.0.1:${port}"}`)).toBe(0)
      // Per worker: the same requests, split between the two.
      const perWorker = ['w1', 'w2'].map(
        (w) =>
          sample(
            text,
            `troupe_worker_requests_total{worker="${w}",generation="1",placement="${placement}",kind="${kind}"}`,
          ) ?? Number.NaN,
      )
      expect(perWorker[0]! + perWorker[1]!).toBe(sent.length)
      expect(sample(text, 'troupe_workers{state="ready"}')).toBe(2)
      expect(sample(text, 'troupe_ready')).toBe(1)
      // The master's own process metrics, under its prefix.
      expect(sample(text, 'troupe_master_process_resident_memory_bytes')).toBeGreaterThan(0)

      expect((await troupe.stop()).code).toBe(0)
    },
    60_000,
  )
})

describe('the admin token', () => {
  it('TROUPE_ADMIN_TOKEN guards /metrics (401 telling nothing, then 200 with the token); the probes stay open; a unix: admin socket goes on exit', async () => {
    const dir = tempDir()
    const socket = path.join(dir, 'admin.sock')
    const { troupe, admin } = await serveWithAdmin(`unix:${socket}`, [], { TROUPE_ADMIN_TOKEN: 's3cret' })
    expect(admin).toBe(`unix:${socket}`)

    for (const options of [
      {},
      { token: 'wrong' },
      { authorization: 'Basic czNjcmV0' },
      { token: 's3cret-' },
    ]) {
      const refused = await adminGet(admin, '/metrics', options)
      expect(refused.status).toBe(401)
      expect(refused.headers['www-authenticate']).toBe('Bearer')
      expect(refused.body).toBe('unauthorized\n')
    }
    // A path that does not exist is no different without the token: nothing to enumerate.
    expect((await adminGet(admin, '/stats')).status).toBe(401)
    expect((await adminGet(admin, '/stats', { token: 's3cret' })).status).toBe(404)

    const allowed = await adminGet(admin, '/metrics', { token: 's3cret' })
    expect(allowed.status).toBe(200)
    expect(allowed.headers['content-type']).toContain('text/plain; version=0.0.4')
    expect(sample(allowed.body, 'troupe_ready')).toBe(1)

    expect(await adminGet(admin, '/livez')).toMatchObject({ status: 200, body: 'ok\n' })
    expect(await adminGet(admin, '/readyz')).toMatchObject({ status: 200, body: 'ready\n' })

    // The token is never printed.
    expect(troupe.stderr).not.toContain('s3cret')
    expect((await troupe.stop()).code).toBe(0)
    expect(fs.existsSync(socket)).toBe(false)
  })
})

describe('the admin listener at start-up', () => {
  it('an address in use stops the start with one line naming the admin listener', async () => {
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => taken.close(() => resolve())))
    const { port } = taken.address() as net.AddressInfo
    const exit = await run(['serve', app, '--bind', '127.0.0.1:0', '--admin', String(port)], {
      cwd: tempDir(),
    })
    expect(exit.code).toBe(1)
    expect(exit.stderr).toContain(
      `troupe: admin listener: cannot listen on 127.0.0.1:${port}: address already in use [TROUPE_E_LISTEN]`,
    )
  })

  it('troupe check shows the token as set, never the token', async () => {
    const exit = await run(['check', '--app', app, '--admin', '9100'], {
      cwd: tempDir(),
      env: { TROUPE_ADMIN_TOKEN: 's3cret' },
    })
    expect(exit.code).toBe(0)
    expect(exit.stdout).toMatch(/^admin +"127\.0\.0\.1:9100" +\(flag --admin\)$/m)
    expect(exit.stdout).toMatch(/^adminToken +\(set, not shown\) +\(env TROUPE_ADMIN_TOKEN\)$/m)
    expect(exit.stdout).not.toContain('s3cret')
  })
})

describe('/readyz during a graceful stop', () => {
  it('turns 503 as soon as TERM arrives, while the request in flight still completes 200', async () => {
    const { troupe, port, admin } = await serveWithAdmin('127.0.0.1:0')
    expect((await adminGet(admin, '/readyz')).status).toBe(200)
    const signals = handlerSignals()
    const slow = get(port, `/hello?${signals.held}`, 20_000)
    await signals.waitStarted(1)

    troupe.signal('SIGTERM')
    const notReady = await eventually(
      async () => {
        const answer = await adminGet(admin, '/readyz')
        return answer.status === 503 && answer
      },
      10_000,
      '/readyz to turn 503',
    )
    expect(notReady.body).toBe('not ready: stopping\n')
    // Alive all the same: a liveness failure would have it killed mid-drain.
    expect((await adminGet(admin, '/livez')).status).toBe(200)
    expect(troupe.running).toBe(true)

    signals.open()
    expect(await slow).toEqual({ status: 200, body: 'hello\n' })
    expect((await troupe.exitWithin()).code).toBe(0)
  })
})
