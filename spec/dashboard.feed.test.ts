/**
 * The dashboard's server side on a real master: the token guards the page, its stream and its
 * actions (Basic for a browser, Bearer for a script); the stream starts with everything the page
 * needs and then sends a frame a second with what changed; the actions steer the master and
 * refuse what a foreign site could forge.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import { startServer } from '../runtime/master/master.ts'
import type { Frame, Hello } from '../runtime/master/observe/dashboard/feed-types.ts'
import { basic, openEventStream } from './support/event-stream.ts'
import { eventually } from './support/manual-clock.ts'

const visitsApp = fileURLToPath(new URL('../apps/visits.ts', import.meta.url))
const TOKEN = 's3cret-token'

const serve = async (flags: Record<string, unknown> = {}) => {
  const { config } = resolveConfig({
    flags: { app: visitsApp, bind: ['127.0.0.1:0'], workers: 2, admin: '127.0.0.1:0', ...flags },
  })
  const server = await startServer(config)
  onTestFinished(() => server.stop({ graceful: false }))
  return { server, admin: `http://${server.info().admin}`, app: `http://${server.addresses[0]}` }
}

const act = (admin: string, action: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${admin}/actions/${action}`, {
    method: 'POST',
    headers: {
      authorization: basic(TOKEN),
      'content-type': 'application/json',
      'x-troupe-action': '1',
      ...headers,
    },
    body: JSON.stringify(body),
  })

const workerIds = (hello: Hello | Frame) => hello.snapshot.workers.map((w) => w.id).sort()

describe('the token', () => {
  it('guards the page, the stream and the actions: a browser is challenged with Basic, a script with Bearer; both carry the token', async () => {
    const { admin } = await serve({ adminToken: TOKEN })
    for (const path of ['/', '/dashboard/app.js', '/events']) {
      const refused = await fetch(`${admin}${path}`)
      expect(refused.status, path).toBe(401)
      expect(refused.headers.get('www-authenticate'), path).toBe(
        'Basic realm="troupe admin", charset="UTF-8"',
      )
      expect(await refused.text()).toBe('unauthorized\n')
    }
    const forged = await fetch(`${admin}/actions/reload`, { method: 'POST' })
    expect(forged.status).toBe(401)
    // Not the dashboard's: the scrapers' challenge.
    expect((await fetch(`${admin}/metrics`)).headers.get('www-authenticate')).toBe('Bearer')
    expect((await fetch(`${admin}/events`, { headers: { authorization: basic('wrong') } })).status).toBe(401)

    for (const authorization of [basic(TOKEN), basic(TOKEN, ''), `Bearer ${TOKEN}`]) {
      const stream = await openEventStream(`${admin}/events`, { authorization })
      onTestFinished(() => stream.close())
      expect(stream.status).toBe(200)
      expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8')
      await stream.next('hello')
      stream.close()
    }
    // The Basic password is the token: the metrics take it too (one credential for the listener).
    expect((await fetch(`${admin}/metrics`, { headers: { authorization: basic(TOKEN) } })).status).toBe(200)
  })
})

describe('the event stream', () => {
  it('starts with the tree, the workers and the actions offered, then sends a frame a second with the traffic of that second', async () => {
    const { server, admin, app } = await serve({ adminToken: TOKEN })
    const stream = await openEventStream(`${admin}/events`, { authorization: basic(TOKEN) })
    onTestFinished(() => stream.close())
    const hello = await stream.next<Hello>('hello')
    expect(hello.actions).toEqual({ enabled: true })
    expect(hello.intervalMs).toBe(1_000)
    expect(hello.historySize).toBe(300)
    expect(hello.snapshot.instance.pid).toBe(process.pid)
    expect(workerIds(hello)).toEqual(['w1', 'w2'])
    const workersNode = hello.snapshot.tree.children?.find((c) => c.name === 'workers')
    expect(workersNode?.children?.map((c) => c.name).sort()).toEqual(['w1', 'w2'])
    expect(
      hello.snapshot.tree.children?.find((c) => c.name === 'actors')?.children?.map((c) => c.name),
    ).toEqual(['visits'])
    expect(server.generation).toBe(hello.snapshot.instance.generation)

    for (let i = 0; i < 20; i++)
      expect((await fetch(`${app}/`, { headers: { connection: 'close' } })).status).toBe(200)
    // Workers report about once a second, and the feed samples once a second: a frame soon
    // carries the twenty requests as a rate over its interval, in total and per worker.
    // Summed over every frame so far (stream.next's predicate sees the same frames again on
    // each look, so counting inside it would count them twice).
    const sent = () => stream.events.filter((e) => e.event === 'frame').map((e) => e.data as Frame)
    const total2xx = () => sent().reduce((n, f) => n + f.total.status['2xx'], 0)
    await eventually(() => total2xx() >= 20, 15_000, 'the twenty requests in the frames')
    expect(total2xx()).toBe(20)
    expect(
      sent().reduce((n, f) => n + Object.values(f.workers).reduce((m, w) => m + w.status['2xx'], 0), 0),
    ).toBe(20)
    const frames = sent()
    expect(frames.some((f) => f.total.p50Ms !== null && f.total.p50Ms > 0)).toBe(true)
    for (const frame of frames) expect(workerIds(frame)).toEqual(['w1', 'w2'])

    // A page opened now gets the last seconds as history at once.
    const later = await openEventStream(`${admin}/events`, { authorization: basic(TOKEN) })
    onTestFinished(() => later.close())
    const again = await later.next<Hello>('hello')
    expect(again.history.total.length).toBeGreaterThanOrEqual(frames.length)
    expect(again.history.total.reduce((n, s) => n + s.status['2xx'], 0)).toBe(20)
    expect(Object.keys(again.history.workers).sort()).toEqual(['w1', 'w2'])
  })

  it('logs what happens to the workers and the app actors as events, each sent once', async () => {
    const { admin } = await serve({ adminToken: TOKEN, placement: 'process' })
    const stream = await openEventStream(`${admin}/events`, { authorization: basic(TOKEN) })
    onTestFinished(() => stream.close())
    const hello = await stream.next<Hello>('hello')
    // The start is in the log already: the actor, then each worker ready.
    expect(hello.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['actor.ready', 'worker.ready', 'worker.ready']),
    )
    const killed = await act(admin, 'kill', { worker: 'w2' })
    expect(killed.status).toBe(200)
    expect(await killed.json()).toMatchObject({
      ok: true,
      outcome: { worker: 'w2', replaced: true, reason: { kind: 'killed', signal: 'SIGKILL' } },
    })
    await stream.next<Frame>('frame', (f) => f.events.some((e) => e.event === 'worker.restart'))
    const sent = stream.events.filter((e) => e.event === 'frame').flatMap((e) => (e.data as Frame).events)
    expect(sent.filter((e) => e.subject === 'w2').map((e) => [e.event, e.level])).toEqual([
      ['worker.exit', 'warn'],
      ['worker.restart', 'info'],
    ])
    expect(sent.find((e) => e.event === 'worker.exit')?.msg).toMatch(
      /^worker w2 exited \(killed by SIGKILL\)/,
    )
    const ids = stream.events
      .filter((e) => e.event === 'frame')
      .flatMap((e) => (e.data as Frame).events.map((x) => x.id))
    expect(new Set(ids).size).toBe(ids.length)
    expect(Math.min(...ids)).toBeGreaterThan(Math.max(...hello.events.map((e) => e.id)))
  })
})

describe('the actions', () => {
  it('scale and reload through the control API, and answer its outcome or its coded refusal', async () => {
    const { server, admin } = await serve({ adminToken: TOKEN })
    const scaled = await act(admin, 'scale', { workers: '+1' })
    expect(await scaled.json()).toEqual({ ok: true, outcome: { from: 2, to: 3 } })
    expect(server.config.workers).toBe(3)

    const bad = await act(admin, 'scale', { workers: 'many' })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ ok: false, code: 'TROUPE_E_INVALID_OPTION' })
    const unknown = await act(admin, 'kill', { worker: 'w99' })
    expect(unknown.status).toBe(400)
    expect(await unknown.json()).toMatchObject({
      ok: false,
      message: expect.stringContaining('no worker "w99"'),
    })

    const reloaded = await act(admin, 'reload', {})
    expect(await reloaded.json()).toMatchObject({ ok: true, outcome: { generation: 2, workers: 3 } })
    expect(server.generation).toBe(2)
    expect(
      (await fetch(`${admin}/actions/explode`, { method: 'POST', headers: { authorization: basic(TOKEN) } }))
        .status,
    ).toBe(404)
    expect(
      (await fetch(`${admin}/actions/reload`, { headers: { authorization: basic(TOKEN) } })).status,
    ).toBe(405)
  })

  it('restart an app actor, and the event log says so once; a worker is not an app actor', async () => {
    const { admin } = await serve({ adminToken: TOKEN })
    const stream = await openEventStream(`${admin}/events`, { authorization: basic(TOKEN) })
    onTestFinished(() => stream.close())
    await stream.next<Hello>('hello')
    const restarted = await act(admin, 'restart', { actor: 'visits' })
    expect(await restarted.json()).toMatchObject({
      ok: true,
      outcome: { actor: '/troupe/actors/visits', restarts: 1, state: 'ready' },
    })
    const frame = await stream.next<Frame>('frame', (f) => f.events.some((e) => e.event === 'actor.restart'))
    expect(frame.snapshot.tree.children?.find((c) => c.name === 'actors')?.children?.[0]?.restarts).toBe(1)
    const sent = stream.events.filter((e) => e.event === 'frame').flatMap((e) => (e.data as Frame).events)
    expect(sent.filter((e) => e.event === 'actor.restart')).toHaveLength(1)
    expect(sent.map((e) => e.event)).toEqual(expect.arrayContaining(['actor.exit', 'actor.ready']))
    const worker = await act(admin, 'restart', { actor: 'w1' })
    expect(worker.status).toBe(400)
    expect(await worker.json()).toMatchObject({
      ok: false,
      message: expect.stringContaining('troupe kill w1'),
    })
  })

  it('refuse a request a foreign page could forge (no x-troupe-action, a form body, another origin), and nothing happens', async () => {
    const { server, admin } = await serve({ adminToken: TOKEN })
    const forgeries: Record<string, string>[] = [
      { 'x-troupe-action': '' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'text/plain' },
      { origin: 'http://evil.example' },
    ]
    for (const headers of forgeries) {
      const answer = await act(admin, 'reload', {}, headers)
      expect(answer.status, JSON.stringify(headers)).toBe(403)
      expect(await answer.json()).toMatchObject({ ok: false, code: 'TROUPE_E_ADMIN_FORGERY' })
    }
    // The page's own origin is welcome.
    const own = await act(admin, 'scale', { workers: 2 }, { origin: admin })
    expect(own.status).toBe(200)
    expect(server.generation).toBe(1)
  })

  it('are off without a token, and the stream says why; the page still shows everything', async () => {
    const { server, admin } = await serve()
    const stream = await openEventStream(`${admin}/events`)
    onTestFinished(() => stream.close())
    const hello = await stream.next<Hello>('hello')
    expect(hello.actions).toEqual({ enabled: false, why: expect.stringContaining('--admin-token') })
    const refused = await fetch(`${admin}/actions/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-troupe-action': '1' },
      body: '{}',
    })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ ok: false, code: 'TROUPE_E_ADMIN_ACTIONS_OFF' })
    expect(server.generation).toBe(1)
  })
})
