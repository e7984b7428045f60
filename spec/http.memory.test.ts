/** Memory limits and lifetimes: what gets a worker replaced, and with which exit reason. */
import http from 'node:http'
import { describe, expect, it } from 'vitest'
import type { Server } from '../runtime/master/master.ts'
import type { TreeNode } from '../runtime/tree.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { exitOf, recordLifecycle } from './support/lifecycle-events.ts'
import { eventually } from './support/manual-clock.ts'
import { serve } from './support/serve.ts'
import { startWrk } from './support/wrk.ts'

const workersOf = (server: Server): readonly TreeNode[] =>
  server.tree().children!.find((c) => c.name === 'workers')!.children ?? []

const lastExits = (server: Server) => workersOf(server).map((w) => w.lastExit?.kind ?? null)

describe('memory limits', () => {
  it('process worker over its RSS soft limit is recycled gracefully: a replacement first, nothing dropped', async () => {
    const events = recordLifecycle()
    const { server, base } = await serve('memory-app.ts', { placement: 'process', memorySoft: 150 })
    const first = workersOf(server)[0]!
    // A request in flight on the worker about to be recycled, held until its replacement is up.
    const signals = handlerSignals()
    const held = fetch(`${base}/?${signals.held}`)
    held.catch(() => {})
    await signals.waitStarted()
    const load = startWrk(`${base}/`, { connections: 4 })
    // When the old worker starts draining (it says so in the tree), i.e. leaves the rotation.
    const drainingSince = eventually(
      () => workersOf(server).some((w) => w.path === first.path && w.info?.draining === true) && Date.now(),
      20_000,
      'the old worker to drain',
    )
    expect((await fetch(`${base}/grow?mb=200`)).status).toBe(200)
    const replacement = await eventually(
      () => events.find((e) => e.what === 'ready' && e.path !== first.path),
      15_000,
      'a replacement to be ready',
    )
    // The old worker left the rotation only once its replacement was ready, and is still there,
    // draining its held request.
    expect(await drainingSince).toBeGreaterThanOrEqual(replacement.at)
    expect(exitOf(events, first.path)).toBeUndefined()
    signals.open()
    expect((await held).status).toBe(200)
    const exit = await eventually(() => exitOf(events, first.path), 15_000, 'the old worker to exit')
    expect(exit.reason).toEqual({ kind: 'recycled', why: 'RSS over 150 MB' })
    expect(exit.at).toBeGreaterThanOrEqual(replacement.at)
    const result = await load.stop()
    expect({ errors: result.errors, non2xx: result.non2xx }).toEqual({
      errors: { connect: 0, read: 0, write: 0, timeout: 0 },
      non2xx: 0,
    })
    expect(workersOf(server).map((w) => [w.path, w.state])).toEqual([[replacement.path, 'ready']])
    expect((await fetch(`${base}/`)).status).toBe(200)
  }, 30_000)

  it('process worker over its RSS hard limit is killed with exit reason memory, and restarted', async () => {
    const { server, base } = await serve('memory-app.ts', { placement: 'process', memory: 150 })
    expect((await fetch(`${base}/grow?mb=200`)).status).toBe(200)
    const worker = await eventually(() => {
      const w = workersOf(server)[0]
      return w?.lastExit?.kind === 'memory' && w.state === 'ready' ? w : undefined
    }, 15_000)
    expect(worker.restarts).toBe(1)
    expect((await fetch(`${base}/`)).status).toBe(200)
  }, 30_000)

  it('thread worker past its heap limit (resourceLimits) ends with exit reason memory, and is restarted', async () => {
    const { server, base } = await serve('memory-app.ts', { placement: 'thread', memory: 64 })
    await fetch(`${base}/heap`).catch(() => {})
    await fetch(`${base}/heap`).catch(() => {})
    const worker = await eventually(() => {
      const w = workersOf(server)[0]
      return w?.lastExit?.kind === 'memory' && w.state === 'ready' ? w : undefined
    }, 15_000)
    expect(worker.restarts).toBeGreaterThanOrEqual(1)
    // On a new connection: fetch's pool may still hold an idle one the dead thread had accepted
    // (it closes as the thread's teardown finishes, which under this runner can be a second late).
    expect(await statusOnNewConnection(`${base}/`)).toBe(200)
  }, 30_000)
})

const statusOnNewConnection = (url: string): Promise<number | undefined> =>
  new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        res.resume()
        resolve(res.statusCode)
      })
      .on('error', reject)
  })

describe('minimum lifetime', () => {
  it('a worker past max requests is not recycled before its minimum lifetime', async () => {
    const events = recordLifecycle()
    const began = Date.now()
    const { server, base } = await serve('memory-app.ts', { maxRequests: 3, minLifetime: 3 })
    const first = workersOf(server)[0]!.path
    for (let i = 0; i < 6; i++) expect((await fetch(`${base}/`)).status).toBe(200)
    const exit = await eventually(() => exitOf(events, first), 15_000, 'the first worker to be recycled')
    expect(exit.reason).toEqual({ kind: 'recycled', why: 'max-requests' })
    // Due after three requests, yet it lived its three seconds (started after `began`).
    expect(exit.at - began).toBeGreaterThanOrEqual(3_000)
    expect(exit.at - began).toBeLessThan(13_000)
    const replacement = events.find((e) => e.what === 'ready' && e.path !== first)!
    expect(replacement.at).toBeLessThanOrEqual(exit.at)
    await eventually(() => workersOf(server).length === 1 && workersOf(server)[0]!.path !== first)
    expect(lastExits(server)).toEqual([null])
  }, 30_000)
})
