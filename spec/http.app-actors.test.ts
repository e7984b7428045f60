/**
 * App actors: the example app's `visits` counter is one actor under the master, shared by
 * every worker, in every worker combination, and it outlives reloads.
 */

import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import { startServer } from '../runtime/master/master.ts'

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
  ['thread', 'thread-pool'],
  ['process', 'thread-pool'],
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
    const { threadHandoffSupported } = await import('../runtime/master/master.ts')
    expect(threadHandoffSupported('26.5.1')).toBe(false)
    expect(threadHandoffSupported('22.12.0')).toBe(false)
    expect(threadHandoffSupported('26.6.0')).toBe(true)
    expect(threadHandoffSupported('27.0.0')).toBe(true)
  })
})

describe('actors registered by the config', () => {
  it('runs them under the master like the app’s own, in the placement the config gives', async () => {
    const { tally } = await import('./fixtures/tally-actor.ts')
    const app = fileURLToPath(new URL('./fixtures/plain-fetch-app.ts', import.meta.url))
    const { config, sources } = resolveConfig({
      file: {
        path: 'troupe.config.ts',
        values: { app, actors: [{ actor: tally, options: { placement: 'process' } }] },
      },
      flags: { bind: ['127.0.0.1:0'], workers: 2 },
    })
    expect(sources.actors).toBe('file troupe.config.ts')
    const server = await startServer(config)
    onTestFinished(() => server.stop({ graceful: false }))
    const base = `http://${server.addresses[0]}`
    const counts = []
    for (let i = 0; i < 4; i++)
      counts.push(await (await fetch(base, { headers: { connection: 'close' } })).text())
    expect(counts).toEqual(['1', '2', '3', '4'])
    const actors = server.tree().children!.find((c) => c.name === 'actors')!
    expect(actors.children!.map((a) => [a.name, a.placement])).toEqual([['tally', 'process']])
  })

  it('refuses an entry that is not an actor, naming it', () => {
    expect(() => resolveConfig({ file: { path: 'x.ts', values: { actors: [{ nope: 1 }] } } })).toThrow(
      expect.objectContaining({ code: 'TROUPE_E_CONFIG', message: expect.stringContaining('actors[0]') }),
    )
  })
})

describe('reload', () => {
  it('re-imports the app: new code serves after a reload, in threads and processes', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    for (const placement of ['thread', 'process'] as const) {
      const dir = mkdtempSync(`${tmpdir()}/troupe-reload-`)
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
      const app = `${dir}/app.mjs`
      writeFileSync(app, "export default { fetch: () => new Response('v1') }\n")
      const { config } = resolveConfig({ flags: { app, bind: ['127.0.0.1:0'], workers: 2, placement } })
      const server = await startServer(config)
      onTestFinished(() => server.stop({ graceful: false }))
      const base = `http://${server.addresses[0]}`
      expect(await (await fetch(base)).text()).toBe('v1')
      writeFileSync(app, "export default { fetch: () => new Response('v2') }\n")
      await server.reload()
      expect(await (await fetch(base, { headers: { connection: 'close' } })).text()).toBe('v2')
    }
  }, 30_000)

  it('keeps the old generation serving when the new code fails to load', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(`${tmpdir()}/troupe-reload-`)
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const app = `${dir}/app.mjs`
    writeFileSync(app, "export default { fetch: () => new Response('v1') }\n")
    const { config } = resolveConfig({ flags: { app, bind: ['127.0.0.1:0'] } })
    const server = await startServer(config)
    onTestFinished(() => server.stop({ graceful: false }))
    writeFileSync(app, "throw new Error('broken deploy')\n")
    await expect(server.reload()).rejects.toMatchObject({ code: 'TROUPE_E_APP_LOAD' })
    expect(server.generation).toBe(1)
    expect(await (await fetch(`http://${server.addresses[0]}`)).text()).toBe('v1')
  })
})

describe('config values', () => {
  it.each([
    ['660', 0o660],
    ['0o600', 0o600],
  ])('socketMode %s is read as octal', (text, mode) => {
    expect(resolveConfig({ flags: { socketMode: text } }).config.socketMode).toBe(mode)
  })
  it.each(['660abc', '999', 'rw-rw----'])('socketMode %s is refused', (text) => {
    expect(() => resolveConfig({ flags: { socketMode: text } })).toThrow(
      expect.objectContaining({ code: 'TROUPE_E_CONFIG', message: expect.stringContaining('socketMode') }),
    )
  })
})
