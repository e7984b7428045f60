/**
 * crossws hooks in a fetch app (`defineApp({ fetch, websocket: hooks })`, srvx's shape): a real
 * server and a `ws` client. Echo of text and binary through the hooks in both placements and
 * under the thread-pool kind (upgrades run on the worker's event loop, not the pool); the open
 * and close hooks count a client that leaves; the upgrade hook may refuse; a reload says 1001 at
 * the deadline, as to any WebSocket.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it, onTestFinished } from 'vitest'
import { WebSocket } from 'ws'
import { resolveApp } from '../apps/app.ts'
import { crosswsUpgrade } from '../apps/websocket-hooks.ts'
import { AppLoadError } from '../runtime/errors.ts'
import { eventually } from './support/manual-clock.ts'
import { serve } from './support/serve.ts'
import { type Client, connect, nextMessage } from './support/ws-client.ts'

const app = 'crossws-app.ts'

/** Asks the app how many peers its hooks count, until the answer is `expected`. */
const peersUntil = async (client: Client, expected: string) => {
  for (const deadline = Date.now() + 10_000; ; ) {
    client.ws.send('peers?')
    const answer = await nextMessage(client, client.messages.length + 1)
    if (answer === expected) return
    if (Date.now() > deadline) throw new Error(`the app still says "${answer}", not "${expected}"`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.each([
  ['thread', 'coroutine'],
  ['process', 'coroutine'],
  ['thread', 'thread-pool'],
  ['process', 'thread-pool'],
] as const)('crossws hooks: %s placement, %s kind', (placement, kind) => {
  it('echo text and binary; open and close hooks count a client that leaves; plain HTTP served beside', async () => {
    const { server, port, base } = await serve(app, { placement, kind, threads: 2 })
    const url = `ws://127.0.0.1:${port}/`
    const first = await connect(url)
    onTestFinished(() => first.ws.terminate())
    expect(first.hello).toBe('hello w1 1')
    first.ws.send('ping')
    expect(await nextMessage(first, 1)).toBe('ping')
    const payload = randomBytes(256 * 1024)
    first.ws.send(payload)
    expect(Buffer.compare((await nextMessage(first, 2)) as Buffer, payload)).toBe(0)
    expect(await (await fetch(base)).text()).toBe('plain fetch\n')

    const second = await connect(url)
    onTestFinished(() => second.ws.terminate())
    await peersUntil(first, 'peers 2 closed 0')
    second.ws.close()
    await peersUntil(first, 'peers 1 closed 1')
    expect((await eventually(() => second.closed, 10_000, 'the client to see its close')).code).toBe(1005)
    await eventually(() => server.stats().totals.upgraded === 1, 10_000, 'one upgraded connection left')
  }, 30_000)
})

describe('crossws hooks', () => {
  it('an upgrade hook that returns a Response refuses the upgrade with it', async () => {
    const { port } = await serve(app)
    const ws = new WebSocket(`ws://127.0.0.1:${port}/refuse`)
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (req, res) => {
        res.resume()
        req.destroy()
        resolve(res.statusCode!)
      })
      ws.once('open', () => reject(new Error('upgraded')))
      ws.once('error', reject)
    })
    expect(status).toBe(403)
  })

  it.each(['thread', 'process'] as const)(
    '%s workers: a reload keeps crossws sockets open until gracefulTimeout, then sends 1001; new ones land on generation 2',
    async (placement) => {
      const grace = 2
      const { server, port } = await serve(app, { placement, workers: 2, gracefulTimeout: grace })
      const url = `ws://127.0.0.1:${port}/`
      const old = await Promise.all(Array.from({ length: 20 }, () => connect(url)))
      onTestFinished(() => {
        for (const c of old) c.ws.terminate()
      })
      expect(new Set(old.map((c) => c.hello.split(' ')[2]))).toEqual(new Set(['1']))
      const started = performance.now()
      const reloaded = server.reload()
      await eventually(() => server.generation === 2, 20_000, 'generation 2 serving')
      const fresh = await connect(url)
      onTestFinished(() => fresh.ws.terminate())
      expect(fresh.hello).toMatch(/^hello w\d+ 2$/)
      await reloaded
      await eventually(() => old.every((c) => c.closed), 10_000, 'the old sockets closed')
      expect(new Set(old.map((c) => c.closed!.code))).toEqual(new Set([1001]))
      expect(Math.min(...old.map((c) => c.closed!.at)) - started).toBeGreaterThanOrEqual(grace * 1_000 - 100)
      expect(fresh.closed).toBeUndefined()
    },
    60_000,
  )

  it.each(['thread', 'process'] as const)(
    '%s workers: a plain { fetch, websocket } export, its hooks picked per request by resolve',
    async (placement) => {
      const { port, base } = await serve('crossws-plain-app.ts', { placement })
      const say = async (pathname: string, text: string) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${pathname}`)
        onTestFinished(() => ws.terminate())
        return new Promise<string>((resolve, reject) => {
          ws.once('open', () => ws.send(text))
          ws.once('message', (data) => resolve(data.toString()))
          ws.once('error', reject)
        })
      }
      expect(await say('/', 'hi there')).toBe('hi there')
      expect(await say('/upper', 'hi there')).toBe('HI THERE')
      expect(await (await fetch(base)).text()).toBe('plain fetch\n')
    },
    30_000,
  )

  it('without crossws installed, an app with `websocket` fails to load, saying what to install', async () => {
    const missing = Object.assign(new Error("Cannot find package 'crossws'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
    const failed = await crosswsUpgrade({}, () => Promise.reject(missing)).catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(AppLoadError)
    expect((failed as { code?: string }).code).toBe('TROUPE_E_APP_LOAD')
    expect((failed as Error).message).toMatch(/Cannot find package 'crossws'.*npm install crossws/)
  })

  it('an app with both `upgrade` and `websocket` is refused at load, naming both', () => {
    const both = { fetch: () => new Response(''), upgrade: () => {}, websocket: {} }
    expect(() => resolveApp(both, 'file:///app.ts')).toThrow(AppLoadError)
    expect(() => resolveApp(both, 'file:///app.ts')).toThrow(/both `upgrade` and `websocket`/)
    expect(() => resolveApp({ fetch: both.fetch, websocket: 'hooks' }, 'file:///app.ts')).toThrow(
      /`websocket` must be an object of crossws hooks/,
    )
  })
})
