/**
 * WebSockets through troupe, with `ws` on both ends: a Node-style app attaches a WebSocketServer
 * to `ctx.server` in setup, a fetch app serves upgrades through its `upgrade` hook (the thread
 * pool kind too: upgrades run on the worker's event loop). Echo of text and binary frames in
 * both placements; a thousand sockets held across two workers and counted apart from requests;
 * a graceful reload keeps the old sockets open until gracefulTimeout, then says 1001 — never an
 * abrupt close — while new sockets land on the new generation; the app's drain hook may say
 * goodbye first.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { io } from 'socket.io-client'
import { describe, expect, it, onTestFinished } from 'vitest'
import { WebSocket } from 'ws'
import { resolveConfig } from '../runtime/master/config.ts'
import { startServer } from '../runtime/master/master.ts'
import { eventually } from './support/manual-clock.ts'
import { type Client, connect, nextMessage } from './support/ws-client.ts'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const nodeApp = fixture('websocket-app.ts')
const hookApp = fixture('websocket-hook-app.ts')

const serve = async (app: string, flags: Record<string, unknown> = {}) => {
  const { config } = resolveConfig({ flags: { app, bind: ['127.0.0.1:0'], workers: 2, ...flags } })
  const server = await startServer(config)
  onTestFinished(() => server.stop({ graceful: false }))
  return { server, url: `ws://${server.addresses[0]}/`, http: `http://${server.addresses[0]}/` }
}

describe.each([
  ['a node-style app with ws on ctx.server', 'websocket-app.ts', 'thread', 'coroutine'],
  ['a node-style app with ws on ctx.server', 'websocket-app.ts', 'process', 'coroutine'],
  ['a fetch app with an upgrade hook', 'websocket-hook-app.ts', 'thread', 'coroutine'],
  ['a fetch app with an upgrade hook', 'websocket-hook-app.ts', 'process', 'thread-pool'],
] as const)('%s (%s), %s placement, %s kind', (_label, file, placement, kind) => {
  it('echoes text and binary frames; plain HTTP is served beside; upgrades are counted apart from requests', async () => {
    const { server, url, http } = await serve(fixture(file), { placement, kind, threads: 2 })
    const client = await connect(url)
    onTestFinished(() => client.ws.terminate())
    expect(client.hello).toMatch(/^hello w[12] 1$/)
    client.ws.send('ping')
    expect(await nextMessage(client, 1)).toBe('ping')
    const payload = randomBytes(256 * 1024)
    client.ws.send(payload)
    expect(Buffer.compare((await nextMessage(client, 2)) as Buffer, payload)).toBe(0)
    expect(await (await fetch(http)).text()).toMatch(/^plain (http|fetch)\n$/)

    const stats = await eventually(
      () => {
        const s = server.stats()
        return s.totals.upgraded === 1 && s.totals.requests === 1 && s
      },
      10_000,
      'the upgrade and the one request reported',
    )
    const worker = stats.workers.find((w) => w.upgraded === 1)!
    expect(worker.id).toBe(client.hello.split(' ')[1])
    client.ws.close()
    await eventually(
      () => server.stats().totals.upgraded === 0,
      10_000,
      'the closed socket to be counted out',
    )
  })
})

describe('over a unix: bind', () => {
  it.each(['thread', 'process'] as const)(
    '%s workers echo through the Unix socket (thread workers: relayed by the master, back-pressure included)',
    async (placement) => {
      const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-ws-')), 'app.sock')
      const { config } = resolveConfig({
        flags: { app: nodeApp, bind: [`unix:${socket}`], workers: 2, placement },
      })
      const server = await startServer(config)
      onTestFinished(() => server.stop({ graceful: false }))
      const client = await connect(`ws+unix://${socket}:/`)
      onTestFinished(() => client.ws.terminate())
      expect(client.hello).toMatch(/^hello w[12] 1$/)
      // Several MB in both directions: more than the relay's window, so it has to wait for acks.
      const payload = randomBytes(4 * 1024 * 1024)
      client.ws.send(payload)
      expect(Buffer.compare((await nextMessage(client, 1)) as Buffer, payload)).toBe(0)
      await eventually(() => server.stats().totals.upgraded === 1, 10_000, 'the upgrade reported')
    },
    30_000,
  )
})

describe('socket.io', () => {
  // Long-polling is several requests per session, each of which may reach another worker: like
  // node:cluster, troupe has no sticky sessions, so polling is shown with one worker.
  it.each([
    ['thread', 'websocket', 2],
    ['process', 'websocket', 2],
    ['thread', 'polling', 1],
  ] as const)(
    'a socket.io server on ctx.server talks to a socket.io client: %s workers, %s transport, %s worker(s)',
    async (placement, transport, workers) => {
      const { http } = await serve(fixture('socketio-app.ts'), { placement, workers })
      const client = io(http, { transports: [transport], reconnection: false, forceNew: true })
      onTestFinished(() => {
        client.close()
      })
      const answer = await new Promise<string>((resolve, reject) => {
        client.once('connect_error', reject)
        client.once('echoed', resolve)
        client.emit('echo', `hi over ${transport}`)
      })
      expect(answer).toMatch(new RegExp(`^hi over ${transport} from w[12]$`))
      expect(await (await fetch(http)).text()).toBe('plain http\n')
    },
    30_000,
  )
})

describe('Hono', () => {
  it.each(['thread', 'process'] as const)(
    "%s workers: Hono's upgradeWebSocket (@hono/node-ws) with injectWebSocket(ctx.server) in setup",
    async (placement) => {
      const { url, http } = await serve(fixture('hono-ws-app.ts'), { placement })
      const ws = new WebSocket(`${url}ws`)
      onTestFinished(() => ws.terminate())
      const answer = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send('hi'))
        ws.once('message', (data) => resolve(data.toString()))
        ws.once('error', reject)
      })
      expect(answer).toMatch(/^hi from w[12]$/)
      expect(await (await fetch(http)).text()).toBe('hono over http\n')
    },
    30_000,
  )
})

describe('many sockets', () => {
  it('a thousand sockets held across two workers, each echoing; the count goes back to zero as clients leave', async () => {
    const { server, url } = await serve(nodeApp, { connections: 2_000 })
    const clients: Client[] = []
    for (let batch = 0; batch < 10; batch++)
      clients.push(...(await Promise.all(Array.from({ length: 100 }, () => connect(url)))))
    onTestFinished(() => {
      for (const c of clients) c.ws.terminate()
    })
    const byWorker = new Map<string, number>()
    for (const c of clients) {
      const id = c.hello.split(' ')[1]!
      byWorker.set(id, (byWorker.get(id) ?? 0) + 1)
    }
    expect([...byWorker.keys()].sort()).toEqual(['w1', 'w2'])
    const stats = await eventually(
      () => {
        const s = server.stats()
        return s.totals.upgraded === 1_000 && s
      },
      15_000,
      'a thousand upgraded connections reported',
    )
    for (const w of stats.workers) expect(w.upgraded).toBe(byWorker.get(w.id))
    expect(stats.totals.requests).toBe(0)
    await Promise.all(
      clients.map(async (c, i) => {
        c.ws.send(`n${i}`)
        expect(await nextMessage(c, 1)).toBe(`n${i}`)
      }),
    )
    for (const c of clients.slice(0, 500)) c.ws.close()
    await eventually(() => server.stats().totals.upgraded === 500, 15_000, 'half of them counted out')
    for (const c of clients.slice(500)) c.ws.close()
    await eventually(() => server.stats().totals.upgraded === 0, 15_000, 'all of them counted out')
  }, 60_000)
})

describe('a graceful reload with open sockets', () => {
  it.each(['thread', 'process'] as const)(
    '%s workers: old sockets stay open until gracefulTimeout, then get 1001; new ones land on the new generation',
    async (placement) => {
      const grace = 3
      const { server, url } = await serve(nodeApp, { placement, gracefulTimeout: grace })
      const old = await Promise.all(Array.from({ length: 200 }, () => connect(url)))
      onTestFinished(() => {
        for (const c of old) c.ws.terminate()
      })
      expect(new Set(old.map((c) => c.hello.split(' ')[2]))).toEqual(new Set(['1']))
      const started = performance.now()
      const reloaded = server.reload()
      // The new generation takes new sockets as soon as it serves, while the old one drains.
      await eventually(() => server.generation === 2, 20_000, 'generation 2 serving')
      const fresh = await Promise.all(Array.from({ length: 20 }, () => connect(url)))
      onTestFinished(() => {
        for (const c of fresh) c.ws.terminate()
      })
      expect(new Set(fresh.map((c) => c.hello.split(' ')[2]))).toEqual(new Set(['2']))
      // The old sockets still answer while their generation drains.
      old[0]!.ws.send('still there')
      expect(await nextMessage(old[0]!, 1)).toBe('still there')
      await reloaded
      await eventually(() => old.every((c) => c.closed), 10_000, 'the old sockets closed')
      const codes = new Set(old.map((c) => c.closed!.code))
      expect(codes).toEqual(new Set([1001]))
      const earliest = Math.min(...old.map((c) => c.closed!.at)) - started
      // None before the deadline (the drain starts once the new generation serves, after `started`).
      expect(earliest).toBeGreaterThanOrEqual(grace * 1_000 - 100)
      expect(fresh.every((c) => c.closed === undefined)).toBe(true)
    },
    60_000,
  )

  it("the app's drain hook says goodbye first (its own code), before the deadline", async () => {
    process.env.FIXTURE_GOODBYE = '1'
    onTestFinished(() => {
      delete process.env.FIXTURE_GOODBYE
    })
    const { server, url } = await serve(hookApp, { gracefulTimeout: 10 })
    const old = await Promise.all(Array.from({ length: 20 }, () => connect(url)))
    const started = performance.now()
    await server.reload()
    await eventually(() => old.every((c) => c.closed), 10_000, 'the old sockets closed by the app')
    expect(new Set(old.map((c) => c.closed!.code))).toEqual(new Set([4000]))
    // Long before gracefulTimeout (10 s): the reload finished because the app closed them.
    expect(Math.max(...old.map((c) => c.closed!.at)) - started).toBeLessThan(8_000)
  }, 60_000)
})

describe('an app without an upgrade handler', () => {
  it('serves an Upgrade request as an ordinary request', async () => {
    const { http } = await serve(fixture('lifecycle-app.ts'))
    const answer = await fetch(http, { headers: { connection: 'upgrade', upgrade: 'websocket' } }).catch(
      (error: Error) => error,
    )
    // fetch (undici) refuses to send Upgrade itself: ask node:http.
    if (answer instanceof Error) {
      const { request } = await import('node:http')
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(http, { headers: { connection: 'Upgrade', upgrade: 'websocket' } }, (res) => {
          res.resume()
          resolve(res.statusCode!)
        })
        req.on('upgrade', () => reject(new Error('upgraded')))
        req.on('error', reject)
        req.end()
      })
      expect(status).toBe(200)
    } else expect(answer.status).toBe(200)
  })
})
