/** Memory limits and lifetimes: what gets a worker replaced, and with which exit reason. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { ExitEvent } from '../runtime/channels.ts'
import type { Server } from '../runtime/master/master.ts'
import type { TreeNode } from '../runtime/tree.ts'
import { eventually } from './support/manual-clock.ts'
import { serve } from './support/serve.ts'

const workersOf = (server: Server): readonly TreeNode[] =>
  server.tree().children!.find((c) => c.name === 'workers')!.children ?? []

const lastExits = (server: Server) => workersOf(server).map((w) => w.lastExit?.kind ?? null)

describe('memory limits', () => {
  it('process worker over its RSS soft limit is recycled gracefully: a replacement first, nothing dropped', async () => {
    const exits: ExitEvent[] = []
    const onExit = (event: unknown) => exits.push(event as ExitEvent)
    subscribe('troupe:actor:exit', onExit)
    onTestFinished(() => {
      unsubscribe('troupe:actor:exit', onExit)
    })
    const { server, base } = await serve('memory-app.ts', { placement: 'process', memorySoft: 150 })
    const first = workersOf(server)[0]!
    expect((await fetch(`${base}/grow?mb=200`)).status).toBe(200)
    const replacement = await eventually(() => {
      const ws = workersOf(server)
      return ws.length === 1 && ws[0]!.path !== first.path ? ws[0] : undefined
    }, 15_000)
    expect(replacement!.state).toBe('ready')
    expect(exits.find((e) => e.path === first.path)?.reason).toEqual({
      kind: 'recycled',
      why: 'RSS over 150 MB',
    })
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
    expect((await fetch(`${base}/`)).status).toBe(200)
  }, 30_000)
})

describe('minimum lifetime', () => {
  it('a worker past max requests is not recycled before its minimum lifetime', async () => {
    const { server, base } = await serve('memory-app.ts', { maxRequests: 3, minLifetime: 2 })
    const first = workersOf(server)[0]!.path
    for (let i = 0; i < 6; i++) expect((await fetch(`${base}/`)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(workersOf(server).map((w) => w.path)).toEqual([first])
    await eventually(() => !workersOf(server).some((w) => w.path === first), 10_000)
    expect(lastExits(server)).toEqual([null])
  }, 30_000)
})
