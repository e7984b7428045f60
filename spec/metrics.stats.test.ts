/**
 * `server.stats()` and `server.info()` in this process: totals that only grow across a
 * worker's restarts and recycles, restarts by reason, and a book that counts its own server's
 * workers only, though every server's workers have the same paths.
 */
import http from 'node:http'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Stats } from '../runtime/master/control/api.ts'
import { adminGet, sample } from './support/admin.ts'
import { eventually } from './support/manual-clock.ts'
import { serve } from './support/serve.ts'
import { get } from './support/troupe-cli.ts'

const app = 'behaviour-app.ts'

/** Waits until the workers have reported `n` answered requests. */
const answered = (stats: () => Stats, n: number): Promise<Stats> =>
  eventually(
    () => {
      const snapshot = stats()
      return snapshot.totals.latency.count >= n && snapshot
    },
    15_000,
    `${n} requests in the stats`,
  )

const send = async (port: number, pathname: string, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await get(port, pathname)
}

describe('server.stats()', () => {
  it('keeps counting across a killed worker: totals grow, the worker starts over, the restart has its reason', async () => {
    const { server, port } = await serve(app, { admin: '127.0.0.1:0' })
    await send(port, '/hello', 3)
    await send(port, '/nope', 1)
    const before = await answered(() => server.stats(), 4)
    expect(before.workers.map((w) => [w.id, w.requests])).toEqual([['w1', 4]])

    server.kill('w1')
    await eventually(
      () => server.stats().workers[0]?.restarts === 1 && server.stats().ready,
      15_000,
      'w1 back',
    )
    await send(port, '/hello', 2)
    const after = await answered(() => server.stats(), 6)
    expect(after.totals.requests).toBe(6)
    expect(after.totals.status).toEqual({ '1xx': 0, '2xx': 5, '3xx': 0, '4xx': 1, '5xx': 0 })
    expect(after.totals.latency.count).toBe(6)
    expect(after.totals.restarts).toBe(1)
    expect(after.restartsByReason).toEqual({ killed: 1 })
    expect(after.workerExitsByReason).toEqual({ killed: 1 })
    // The worker itself reports its current incarnation only.
    expect(after.workers[0]).toMatchObject({
      id: 'w1',
      requests: 2,
      restarts: 1,
      lastExit: { kind: 'killed' },
    })

    const text = (await adminGet(`http://${server.info().admin}`, '/metrics')).body
    expect(sample(text, 'troupe_worker_restarts_total{reason="killed"}')).toBe(1)
    expect(sample(text, 'troupe_http_requests_total{status_class="2xx"}')).toBe(5)
  })

  it("counts a recycled worker's requests after it is gone", async () => {
    const { server, port } = await serve(app, { maxRequests: 3 })
    await send(port, '/hello', 4)
    // w1 asks to be recycled after its third request; once replaced, it is gone from the pool.
    await eventually(
      () =>
        server.stats().workerExitsByReason.recycled === 1 &&
        !server.stats().workers.some((w) => w.id === 'w1'),
      15_000,
      'w1 recycled',
    )
    const stats = server.stats()
    expect(stats.totals.requests).toBe(4)
    expect(stats.totals.status['2xx']).toBe(4)
    expect(stats.totals.latency.count).toBe(4)
    expect(stats.restartsByReason).toEqual({})
  })

  it('counts only its own server: two servers in one process have the same worker paths', async () => {
    const a = await serve(app)
    const b = await serve(app)
    await send(a.port, '/hello', 3)
    await answered(() => a.server.stats(), 3)
    // B's worker reported meanwhile too (it is idle: zero); give it a report of its own to ignore A's.
    await send(b.port, '/nope', 1)
    const statsB = await answered(() => b.server.stats(), 1)
    expect(statsB.totals.status).toEqual({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 1, '5xx': 0 })
    expect(a.server.stats().totals.status).toEqual({ '1xx': 0, '2xx': 3, '3xx': 0, '4xx': 0, '5xx': 0 })

    a.server.kill('w1')
    await eventually(() => a.server.stats().totals.restarts === 1, 15_000, "A's restart")
    expect(b.server.stats().totals.restarts).toBe(0)
    expect(b.server.stats().workerExitsByReason).toEqual({})
  })
})

describe('reports while a connection stays open', () => {
  it('a request that finishes after a report is counted within a report interval, not when its keep-alive connection closes', async () => {
    const { server, port } = await serve(app, { keepAlive: 60 })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    onTestFinished(() => agent.destroy())
    // Long enough to be in flight at a periodic report (about one a second).
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/slow?ms=1500', agent }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode!))
        })
        .on('error', reject)
    })
    expect(status).toBe(200)
    // The connection is still open (keep-alive 60 s): only a periodic report can carry the answer.
    const stats = await answered(() => server.stats(), 1)
    expect(stats.totals.status['2xx']).toBe(1)
    expect(stats.workers[0]!.connections).toBe(1)
  })
})

describe('listeners in the stats', () => {
  it('handoff: the acceptor counts each address; reuseport: the binds, with no counts the master cannot know', async () => {
    const handoff = await serve(app)
    await send(handoff.port, '/hello', 2)
    // Workers that accept themselves report their counts with their next figures (20 ms at most).
    await eventually(
      () => handoff.server.stats().listeners?.[0]?.accepted === 2,
      5_000,
      'the accepts to be reported',
    )
    expect(handoff.server.stats().listeners).toEqual([
      {
        address: `127.0.0.1:${handoff.port}`,
        protocol: 'http',
        strategy: 'handoff',
        backlog: 2048,
        queued: 0,
        accepted: 2,
        refused: 0,
      },
    ])

    const reuseport = await serve(app, { strategy: 'reuseport', backlog: 64 })
    await send(reuseport.port, '/hello', 2)
    expect(reuseport.server.stats().listeners).toEqual([
      {
        address: `127.0.0.1:${reuseport.port}`,
        protocol: 'http',
        strategy: 'reuseport',
        backlog: 64,
        queued: 0,
        accepted: null,
        refused: null,
      },
    ])
    // The workers count requests whatever the strategy.
    expect((await answered(() => reuseport.server.stats(), 2)).totals.status['2xx']).toBe(2)
  })
})

describe('server.info()', () => {
  it('says who the master is: version, pid, addresses, generation, admin; no control socket unless given', async () => {
    const { server, port } = await serve(app, { admin: '127.0.0.1:0', adminToken: 'hidden' })
    const info = server.info()
    expect(info).toMatchObject({
      protocol: 1,
      name: null,
      pid: process.pid,
      control: null,
      binds: [`127.0.0.1:${port}`],
      workers: 1,
      generation: 1,
    })
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(info.admin).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(info.startedAt).toBeLessThanOrEqual(Date.now())
    // The token stays out of the snapshot an operator prints.
    expect(JSON.stringify(server.stats())).not.toContain('hidden')
    expect(server.stats().config.adminToken).toBe('(set, not shown)')
  })
})
