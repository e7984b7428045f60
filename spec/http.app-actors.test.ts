/**
 * App actors: the example app's `visits` counter is one actor under the master, shared by
 * every worker, in every worker combination, and it outlives reloads.
 */

import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/config.ts'
import { startServer } from '../runtime/master.ts'

const visitsApp = fileURLToPath(new URL('../apps/visits.ts', import.meta.url))

const start = async (flags: Record<string, unknown>) => {
  const { config } = resolveConfig({ flags: { app: visitsApp, bind: ['127.0.0.1:0'], workers: 2, ...flags } })
  const server = await startServer(config)
  onTestFinished(() => server.stop({ graceful: false }))
  return { server, base: `http://${server.addresses[0]}` }
}

/** A fresh connection per request, so the acceptor spreads them over the workers. */
const visit = async (url: string) => {
  const res = await fetch(url, { headers: { connection: 'close' } })
  const text = await res.text()
  const match = /^visit #(\d+) to (\S+) \(worker (w\d+), pid (\d+)\)/.exec(text)
  expect(match, text).not.toBeNull()
  return { n: Number(match![1]), worker: match![3]! }
}

describe.each([
  ['thread', 'coroutine'],
  ['process', 'coroutine'],
  ['thread', 'threads'],
  ['process', 'threads'],
] as const)('%s workers, %s kind', (placement, kind) => {
  it('every worker counts in the same actor; the count survives a reload', async () => {
    const { server, base } = await start({ placement, kind, threads: 2 })
    const seen = []
    for (let i = 0; i < 12; i++) seen.push(await visit(`${base}/shop`))
    expect(seen.map((s) => s.n)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(new Set(seen.map((s) => s.worker)).size).toBe(2)
    await server.reload()
    expect((await visit(`${base}/shop`)).n).toBe(13)
    expect((await visit(`${base}/other`)).n).toBe(1)
    const tree = server.tree()
    const actors = tree.children!.find((c) => c.name === 'actors')!
    expect(actors.children!.map((a) => [a.name, a.placement, a.state])).toEqual([
      ['visits', 'thread', 'ready'],
    ])
  }, 30_000)
})

describe('start-up checks', () => {
  it('knows which Node versions can move sockets to worker threads', async () => {
    const { threadHandoffSupported } = await import('../runtime/master.ts')
    expect(threadHandoffSupported('26.5.1')).toBe(false)
    expect(threadHandoffSupported('22.12.0')).toBe(false)
    expect(threadHandoffSupported('26.6.0')).toBe(true)
    expect(threadHandoffSupported('27.0.0')).toBe(true)
  })
})
