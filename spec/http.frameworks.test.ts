/**
 * Real-world apps run unchanged under troupe: an ordinary Express, Fastify and Hono app
 * each served by a real troupe master, exercised over real HTTP — route params, JSON
 * bodies, headers, POST echo, the framework's own 404 and 500 paths — and the worker that
 * answered a 500 is the same live worker that answers the next request.
 *
 * Matrix (kept small for two cores): Express and Fastify under kind coroutine in both
 * placements; Hono in a thread under both kinds. A Node-style app under kind thread-pool is
 * refused at start-up.
 */
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { type ConfigKey, resolveConfig } from '../runtime/master/config.ts'
import { type Server, startServer } from '../runtime/master/master.ts'
import type { TreeNode } from '../runtime/tree.ts'

type Framework = 'express' | 'fastify' | 'hono'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** Starts troupe on 127.0.0.1:0 with the framework's fixture app; the caller stops it. */
const start = async (framework: Framework, flags: Partial<Record<ConfigKey, unknown>>): Promise<Server> => {
  const { config } = resolveConfig({
    env: {},
    flags: { bind: ['127.0.0.1:0'], workers: 1, ...flags, app: fixture(`${framework}-app.ts`) },
  })
  // The default onFailure exits the process; a test reports instead.
  return startServer(config, {
    onFailure: (reason) => {
      throw new Error(`troupe's root supervisor gave up: ${JSON.stringify(reason)}`)
    },
  })
}

const baseOf = (server: Server) => `http://${server.addresses[0]}`

/** The HTTP workers in the tree, with what tells one incarnation from the next. */
const workers = (server: Server) => {
  const found: TreeNode[] = []
  const walk = (node: TreeNode) => {
    if (node.kind === 'actor' && /\/workers\/w\d+$/.test(node.path)) found.push(node)
    for (const child of node.children ?? []) walk(child)
  }
  walk(server.tree())
  return found.map(({ path, state, restarts, lastExit, pid, threadId, startedAt }) => ({
    path,
    state,
    restarts,
    lastExit,
    pid,
    threadId,
    startedAt,
  }))
}

const json = async (response: Response): Promise<unknown> => JSON.parse(await response.text())

const postJson = (url: string, body: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })

/** What each framework answers on its own for an unknown path and a thrown error. */
const expectations: Record<
  Framework,
  {
    readonly notFound: (response: Response, path: string) => Promise<void>
    readonly error: (message: string) => unknown
  }
> = {
  express: {
    // Express's final handler (no 404 route in the app).
    notFound: async (response, path) => {
      expect(response.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await response.text()).toContain(`Cannot GET ${path}`)
    },
    // The app's error-handling middleware.
    error: (message) => ({ error: message }),
  },
  fastify: {
    // Fastify's default 404 and error handlers.
    notFound: async (response, path) => {
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await json(response)).toEqual({
        message: `Route GET:${path} not found`,
        error: 'Not Found',
        statusCode: 404,
      })
    },
    error: (message) => ({ statusCode: 500, error: 'Internal Server Error', message }),
  },
  hono: {
    // Hono's default notFound; the app's onError.
    notFound: async (response) => {
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(await response.text()).toBe('404 Not Found')
    },
    error: (message) => ({ error: message }),
  },
}

const matrix = [
  { framework: 'express', placement: 'thread', kind: 'coroutine' },
  { framework: 'express', placement: 'process', kind: 'coroutine' },
  { framework: 'fastify', placement: 'thread', kind: 'coroutine' },
  { framework: 'fastify', placement: 'process', kind: 'coroutine' },
  { framework: 'hono', placement: 'thread', kind: 'coroutine' },
  { framework: 'hono', placement: 'thread', kind: 'thread-pool' },
] as const

describe.each(matrix)(
  '$framework app, $placement placement, $kind kind',
  ({ framework, placement, kind }) => {
    let server: Server
    let base: string
    const expected = expectations[framework]

    beforeAll(async () => {
      server = await start(framework, { placement, kind, threads: 2 })
      base = baseOf(server)
    })
    afterAll(() => server?.stop())

    it('serves a GET route with a route param and a query, as JSON with the app’s headers', async () => {
      const response = await fetch(`${base}/users/42?q=hello`)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(response.headers.get('x-framework')).toBe(framework)
      expect(await json(response)).toEqual({ id: '42', framework, query: 'hello' })
    })

    it('decodes percent-encoded route params', async () => {
      const response = await fetch(`${base}/users/${encodeURIComponent('ada lovelace/é')}`)
      expect(response.status).toBe(200)
      expect(await json(response)).toEqual({ id: 'ada lovelace/é', framework, query: null })
    })

    it('echoes a POSTed JSON body with the status the route sets', async () => {
      const payload = {
        name: 'troupe',
        tags: ['actor', 'server'],
        nested: { n: 1.5, ok: true, none: null },
        text: 'héllo ✓',
      }
      const response = await postJson(`${base}/echo`, JSON.stringify(payload))
      expect(response.status).toBe(201)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await json(response)).toEqual({ received: payload })
    })

    it('echoes a larger body that arrives in several chunks', async () => {
      const payload = { items: Array.from({ length: 5_000 }, (_, i) => ({ i, s: `item-${i}` })) }
      const body = JSON.stringify(payload)
      expect(body.length).toBeGreaterThan(100_000)
      const response = await postJson(`${base}/echo`, body)
      expect(response.status).toBe(201)
      expect(await json(response)).toEqual({ received: payload })
    })

    it('answers malformed JSON with 400', async () => {
      const response = await postJson(`${base}/echo`, '{"not": json')
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      await response.arrayBuffer()
    })

    it('answers unknown paths with the framework’s own 404', async () => {
      const response = await fetch(`${base}/no/such/path`)
      expect(response.status).toBe(404)
      await expected.notFound(response, '/no/such/path')
    })

    it('answers many concurrent requests, each with its own response', async () => {
      const ids = Array.from({ length: 24 }, (_, i) => `u${i}`)
      const bodies = await Promise.all(
        ids.map(async (id) => {
          const response = await fetch(`${base}/users/${id}`)
          expect(response.status).toBe(200)
          return json(response)
        }),
      )
      expect(bodies).toEqual(ids.map((id) => ({ id, framework, query: null })))
    })

    it('turns a thrown error into the framework’s 500, and the same worker serves the next request', async () => {
      const before = workers(server)
      expect(before).toHaveLength(1)
      expect(before[0]).toMatchObject({ state: 'ready', restarts: 0 })

      for (const [path, message] of [
        ['/boom', 'kaboom'],
        ['/boom-async', 'async kaboom'],
      ] as const) {
        const response = await fetch(`${base}${path}`)
        expect(response.status).toBe(500)
        expect(response.headers.get('content-type')).toMatch(/^application\/json/)
        expect(await json(response)).toEqual(expected.error(message))
      }

      const after = await fetch(`${base}/users/7`)
      expect(after.status).toBe(200)
      expect(await json(after)).toEqual({ id: '7', framework, query: null })
      // Not restarted: the very incarnation that answered the 500s is still the one serving.
      expect(workers(server)).toEqual(before)
    })
  },
)

describe('a Node-style app under kind thread-pool', () => {
  it.each(['express', 'fastify'] as const)(
    'refuses the %s app at start-up with TROUPE_E_APP_STYLE',
    async (framework) => {
      const outcome = await start(framework, { kind: 'thread-pool', placement: 'thread' }).then(
        (server) => {
          onTestFinished(() => server.stop())
          return server
        },
        (error: unknown) => error,
      )
      expect(outcome).toBeInstanceOf(Error)
      expect(outcome).toMatchObject({ code: 'TROUPE_E_APP_STYLE', name: 'AppStyleError' })
      expect((outcome as Error).message).toMatch(/coroutine/)
    },
  )
})
