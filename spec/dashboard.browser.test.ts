/**
 * The web dashboard in a real browser: headless Chromium opens the page of a real `troupe serve
 * --admin 127.0.0.1:0 --admin-token SECRET` and the tests read it through its DOM contract
 * (data-node, data-worker, data-generation-group, #connection, #outcome…) while the CLI, a
 * SIGKILL or wrk change what it shows. `troupe tree --json` is the reference of what is true.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Stats, TreeNode } from '../runtime/index.ts'
import { adminGet, parseAdminLine } from './support/admin.ts'
import {
  chromiumMissing,
  type Dashboard,
  js,
  launchChromium,
  type OpenOptions,
  openDashboard,
  type PageView,
  type PageWorker,
  waitInPage,
} from './support/browser.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { cliFixture, get, run, start, tempDir } from './support/troupe-cli.ts'
import { requireWrk, startWrk } from './support/wrk.ts'

const SECRET = 'dash-s3cret'
const helloApp = cliFixture('worker-app.ts')
/** The hello app, whose workers wait to start while the file FIXTURE_HOLD_START names exists. */
const heldStartApp = fileURLToPath(new URL('./fixtures/held-start-app.ts', import.meta.url))
/** An app with one app actor, `tally`, under /troupe/actors: GET /bump counts one, GET /count says how many. */
const actorApp = cliFixture('actor-app.ts')
const artifacts = fileURLToPath(new URL('./.artifacts/', import.meta.url))
/** The page draws at most one frame a second; on a loaded machine, waits get room. */
const SETTLE_MS = 30_000

const missing = chromiumMissing()
if (missing) console.warn(`spec/dashboard.browser.test.ts: the browser tests are skipped: ${missing}`)

const workersOf = (tree: TreeNode): readonly TreeNode[] =>
  tree.children?.find((c) => c.name === 'workers')?.children ?? []
const pathsOf = (node: TreeNode): string[] => [node.path, ...(node.children ?? []).flatMap(pathsOf)]
const byWorker = (a: { worker: string }, b: { worker: string }) =>
  Number(a.worker.slice(1)) - Number(b.worker.slice(1))

/** The workers as `troupe tree --json` gives them, in the page's terms. */
const cliWorkers = (tree: TreeNode) =>
  workersOf(tree)
    .map((w) => ({ worker: w.name, path: w.path, pid: w.pid ?? null, threadId: w.threadId ?? null }))
    .sort(byWorker)
const pageWorkers = (view: PageView) =>
  view.workers
    .map((w) => ({ worker: w.worker, path: w.path, pid: w.pid, threadId: w.threadId }))
    .sort(byWorker)

/**
 * A `troupe serve` with the dashboard on an admin listener on port 0, two workers, its own
 * control directory (so `troupe tree` here finds this master only).
 */
const serveDashboard = async (
  options: { app?: string; placement?: 'thread' | 'process'; env?: Record<string, string> } = {},
) => {
  const env = { ...options.env, XDG_RUNTIME_DIR: tempDir() }
  const cwd = tempDir()
  const master = start(
    [
      'serve',
      options.app ?? helloApp,
      '--bind',
      '127.0.0.1:0',
      '--workers',
      '2',
      '--placement',
      options.placement ?? 'thread',
      '--admin',
      '127.0.0.1:0',
      '--admin-token',
      SECRET,
    ],
    { cwd, env },
  )
  const { port } = await master.serving()
  const admin = parseAdminLine(master.stderr)
  if (!admin) throw new Error(`no admin line; stderr:\n${master.stderr}`)
  const troupe = async (...args: string[]) => {
    const exit = await run(args, { cwd, env })
    expect(exit.code, `troupe ${args.join(' ')}: ${exit.stderr}`).toBe(0)
    return exit.stdout
  }
  return {
    master,
    port,
    admin,
    troupe,
    tree: async () => JSON.parse(await troupe('tree', '--json')) as TreeNode,
    stats: async () => JSON.parse(await troupe('stats', '--json')) as Stats,
  }
}

/** One POST to the admin listener; the answer's status and body. */
const adminPost = (
  admin: string,
  pathname: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const url = new URL(pathname, admin)
    const request = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        timeout: 60_000,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          text += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode!, body: text }))
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within 60 s`)))
    request.on('error', reject)
    request.end(body)
  })

describe.skipIf(missing)('the dashboard in a real browser (chromium)', () => {
  let browser: Browser
  /** Pages whose console must stay free of errors: checked after each test. */
  let watched: Dashboard[] = []
  const contexts: Dashboard['context'][] = []

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })
  afterEach(async () => {
    const pages = watched
    watched = []
    const errors = pages.flatMap((d) => d.errors)
    await Promise.all(contexts.splice(0).map((c) => c.close()))
    expect(errors, 'console errors of the page during the test').toEqual([])
  })

  /** Opens the dashboard with the token as Basic password; waits for the feed's hello. */
  const open = async (admin: string, options: OpenOptions = {}): Promise<Dashboard> => {
    const { dashboard, status } = await openDashboard(browser, `${admin}/`, { password: SECRET, ...options })
    contexts.push(dashboard.context)
    watched.push(dashboard)
    expect(status).toBe(200)
    await dashboard.page.locator('#connection[data-state="live"]').waitFor({ timeout: SETTLE_MS })
    return dashboard
  }

  /** Waits until the page shows `count` workers, every one ready; returns that view. */
  const readyWorkers = (
    dashboard: Dashboard,
    count: number,
    extra: (view: PageView) => boolean = () => true,
  ) =>
    eventually(
      async () => {
        const view = await dashboard.view()
        return (
          view.workers.length === count &&
          view.workers.every((w) => w.state === 'ready') &&
          extra(view) &&
          view
        )
      },
      SETTLE_MS,
      `${count} ready worker nodes in the page`,
    )

  /** Waits until the page's workers are exactly the CLI's (ids, paths, pids, thread ids). */
  const sameWorkersAsCli = async (dashboard: Dashboard, tree: () => Promise<TreeNode>) => {
    let expected = cliWorkers(await tree())
    await eventually(
      async () => {
        expected = cliWorkers(await tree())
        return JSON.stringify(pageWorkers(await dashboard.view())) === JSON.stringify(expected)
      },
      SETTLE_MS,
      'the page to show the workers troupe tree shows',
    ).catch(() => {})
    expect(pageWorkers(await dashboard.view())).toEqual(expected)
    return expected
  }

  /** Clicks `button`, then the confirm dialog's `value` button. */
  const confirmAction = async (
    dashboard: Dashboard,
    button: string,
    value: 'confirm' | 'cancel' = 'confirm',
  ) => {
    const { page } = dashboard
    await page.locator(button).click()
    const dialog = page.locator('dialog#confirm')
    await dialog.waitFor({ state: 'visible', timeout: SETTLE_MS })
    await dialog.locator(`button[value="${value}"]`).click()
    await dialog.waitFor({ state: 'hidden', timeout: SETTLE_MS })
  }

  /** Waits for `#outcome` to say ok with a text other than `before`; returns the text. */
  const outcomeOk = async (dashboard: Dashboard, before: string) => {
    const outcome = dashboard.page.locator('#outcome')
    await waitInPage(
      dashboard.page,
      `(() => { const o = document.querySelector('#outcome'); return o && o.dataset.status !== 'pending' && o.textContent !== ${js(before)} })()`,
      60_000,
      'the outcome of the action',
    ).catch(() => {})
    expect({ status: await outcome.getAttribute('data-status'), text: await outcome.textContent() }).toEqual({
      status: 'ok',
      text: expect.stringMatching(/\S/),
    })
    return (await outcome.textContent())!
  }

  describe.each(['thread', 'process'] as const)('%s placement', (placement) => {
    it('the tree shows exactly the nodes and workers troupe tree --json shows: ids, pids, thread ids', async () => {
      const { master, admin, tree } = await serveDashboard({ placement })
      const dashboard = await open(admin)
      await readyWorkers(dashboard, 2)
      const workers = await sameWorkersAsCli(dashboard, tree)
      expect(workers.map((w) => w.worker)).toEqual(['w1', 'w2'])
      for (const w of workers) {
        if (placement === 'thread') {
          expect(w.pid).toBe(master.pid)
          expect(w.threadId).toEqual(expect.any(Number))
        } else {
          expect(w.pid).not.toBe(master.pid)
          expect(w.threadId).toBeNull()
        }
      }
      // Every node of the supervision tree is drawn, the root as the root.
      const cliPaths = pathsOf(await tree()).sort()
      const pagePaths = (await dashboard.page.evaluate(
        `[...document.querySelectorAll('[data-node]')].map((n) => n.dataset.path)`,
      )) as string[]
      expect(pagePaths.sort()).toEqual(cliPaths)
      expect(await dashboard.page.locator('[data-node][data-role="root"]').getAttribute('data-path')).toBe(
        '/troupe',
      )
      expect((await master.stop()).code).toBe(0)
    }, 90_000)
  })

  it('troupe scale 4 from the CLI: four worker nodes within 2 s, without a reload of the page', async () => {
    const { master, admin, troupe, tree } = await serveDashboard()
    const dashboard = await open(admin)
    await readyWorkers(dashboard, 2)
    // A mark that a reload of the page would lose.
    await dashboard.page.evaluate('window.__notReloaded = true')

    expect(await troupe('scale', '4')).toBe('scaled from 2 to 4 worker(s)\n')
    // The issue's own bar: the page shows the new workers within 2 s of the CLI's answer.
    await waitInPage(
      dashboard.page,
      `document.querySelectorAll('[data-node][data-role="worker"]').length === 4`,
      2_000,
      'four worker nodes',
    )
    expect(await dashboard.page.evaluate('window.__notReloaded === true')).toBe(true)
    await readyWorkers(dashboard, 4)
    expect((await sameWorkersAsCli(dashboard, tree)).map((w) => w.worker)).toEqual(['w1', 'w2', 'w3', 'w4'])
    await dashboard.page.locator('#events [data-event="scale"]').first().waitFor({ timeout: SETTLE_MS })
    expect((await master.stop()).code).toBe(0)
  }, 90_000)

  it('a worker killed with SIGKILL leaves ready (restarting, starting), then is ready again with one more restart', async () => {
    // While this file exists, a worker that starts waits: the replacement stays starting until
    // the page has shown it so (a process boots in less than the second between two frames).
    const hold = path.join(tempDir(), 'hold')
    const { master, admin, tree } = await serveDashboard({
      app: heldStartApp,
      placement: 'process',
      env: { FIXTURE_HOLD_START: hold },
    })
    const dashboard = await open(admin)
    await readyWorkers(dashboard, 2)
    const victim = workersOf(await tree()).find((w) => w.name === 'w1')!
    expect((await dashboard.view()).workers.find((w) => w.worker === 'w1')).toMatchObject({
      pid: victim.pid,
      restarts: 0,
    })

    fs.writeFileSync(hold, '')
    process.kill(victim.pid!, 'SIGKILL')
    const away = (w: { state: string; restarts: number } | undefined) =>
      (w?.state === 'restarting' || w?.state === 'starting') && w.restarts === 1
    await eventually(
      async () => away(workersOf(await tree()).find((w) => w.name === 'w1')),
      SETTLE_MS,
      'the CLI to show w1 restarting or starting',
    )
    await eventually(
      async () => away((await dashboard.view()).workers.find((w) => w.worker === 'w1')),
      SETTLE_MS,
      'the page to show w1 restarting or starting',
    ).catch(() => {})
    expect((await dashboard.view()).workers.find((w) => w.worker === 'w1')).toMatchObject({
      state: expect.stringMatching(/^(restarting|starting)$/),
      restarts: 1,
    })
    fs.rmSync(hold)
    const replacement = await eventually(
      async () => {
        const w1 = workersOf(await tree()).find((w) => w.name === 'w1')
        return w1?.state === 'ready' && w1.restarts === 1 && w1
      },
      SETTLE_MS,
      'the CLI to show w1 restarted',
    )
    await readyWorkers(dashboard, 2, (view) =>
      view.workers.some((w) => w.worker === 'w1' && w.restarts === 1 && w.pid === replacement.pid),
    )
    // What the page went through: w1 ready, then restarting (the supervisor's backoff) or
    // starting (its replacement booting) — frames come once a second, the backoff is shorter
    // — then ready with restarts 1.
    const states = (await dashboard.views())
      .map((view) => view.workers.find((w) => w.worker === 'w1'))
      .filter((w): w is PageWorker => w !== undefined)
      .map((w) => `${w.state}/${w.restarts}`)
    const said = `w1's states in the page: ${states.join(' → ')}`
    expect(states[0], said).toBe('ready/0')
    const leftAt = states.findIndex((s) => /^(restarting|starting)\//.test(s))
    expect(leftAt, said).toBeGreaterThan(0)
    expect(states.slice(leftAt), said).toContain('ready/1')
    expect(states.at(-1), said).toBe('ready/1')
    // And the event log says so.
    const events = dashboard.page.locator('#events')
    await events.locator('[data-event="worker.exit"]').first().waitFor({ timeout: SETTLE_MS })
    await events.locator('[data-event="worker.restart"]').first().waitFor({ timeout: SETTLE_MS })
    expect((await master.stop()).code).toBe(0)
  }, 90_000)

  it('the reload button (confirmed) reloads with no request dropped under wrk; the page shows both generations, the old one draining, then the new one', async () => {
    requireWrk()
    const { master, admin, port, stats, tree } = await serveDashboard({ placement: 'process' })
    const dashboard = await open(admin)
    await readyWorkers(dashboard, 2)
    const load = startWrk(`http://127.0.0.1:${port}/`, { connections: 16, threads: 1, seconds: 120 })
    await eventually(async () => (await stats()).totals.requests > 0, SETTLE_MS, 'wrk to get answers')
    // Requests held in the old generation keep it draining until the test has seen it so: a
    // drain of wrk's short requests alone can end between two frames.
    const signals = handlerSignals()
    const held = [get(port, `/?${signals.held}`, 120_000), get(port, `/?${signals.held}`, 120_000)]
    // A test that fails before the gate opens kills the master: these then fail, unheard.
    for (const request of held) request.catch(() => {})
    await signals.waitStarted(2)

    const before = (await dashboard.page.locator('#outcome').textContent()) ?? ''
    await confirmAction(dashboard, 'button[data-action="reload"]')
    const generationsOf = (view: PageView) =>
      JSON.stringify(view.generations.toSorted((a, b) => a.generation - b.generation))
    const both = JSON.stringify([
      { generation: 1, draining: true },
      { generation: 2, draining: false },
    ])
    await eventually(
      async () => generationsOf(await dashboard.view()) === both,
      SETTLE_MS,
      'two generation groups in the page, the old one draining',
    ).catch(() => {})
    expect(generationsOf(await dashboard.view())).toBe(both)
    expect(await dashboard.page.locator('#outcome').getAttribute('data-status')).toBe('pending')

    signals.open()
    for (const answer of await Promise.all(held)) {
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body)).toMatchObject({ generation: 1 })
    }
    await outcomeOk(dashboard, before)
    await readyWorkers(
      dashboard,
      2,
      (view) =>
        view.workers.every((w) => w.generation === 2) &&
        generationsOf(view) === JSON.stringify([{ generation: 2, draining: false }]),
    )
    const result = await load.stop()
    console.log(
      `dashboard reload under wrk: ${result.requests} requests, ${result.socketErrors} socket errors, ${result.non2xx} non-2xx`,
    )
    expect(result.socketErrors, result.output).toBe(0)
    expect(result.non2xx, result.output).toBe(0)

    // In that order: one generation, both, then only the new one.
    const generations = (await dashboard.views()).map(generationsOf)
    const said = `the generation groups the page went through:\n${generations.join('\n')}`
    const bothAt = generations.indexOf(both)
    const oneAt = generations.indexOf(JSON.stringify([{ generation: 1, draining: false }]))
    expect(oneAt, said).toBeGreaterThanOrEqual(0)
    expect(oneAt, said).toBeLessThan(bothAt)
    expect(generations.at(-1), said).toBe(JSON.stringify([{ generation: 2, draining: false }]))
    expect((await stats()).instance.generation).toBe(2)
    await sameWorkersAsCli(dashboard, tree)
    expect((await master.stop()).code).toBe(0)
  }, 150_000)

  it('without the token: 401 for the page, its script and the feed, no tree in the browser; with Basic credentials, the tree', async () => {
    const { master, admin } = await serveDashboard()
    for (const pathname of ['/', '/dashboard/app.js', '/events']) {
      for (const options of [
        {},
        { token: 'wrong' },
        { authorization: `Basic ${btoa(`troupe:${SECRET}-`)}` },
      ]) {
        const refused = await adminGet(admin, pathname, options)
        expect(refused.status, `${pathname} with ${JSON.stringify(options)}`).toBe(401)
        expect(refused.body).not.toContain('data-node')
      }
    }
    expect((await adminGet(admin, '/')).headers['www-authenticate']).toMatch(/^Basic\b/)
    // With the token (Bearer or Basic with any user), the page and its script.
    expect((await adminGet(admin, '/', { token: SECRET })).status).toBe(200)
    const script = await adminGet(admin, '/dashboard/app.js', {
      authorization: `Basic ${btoa(`anyone:${SECRET}`)}`,
    })
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toMatch(/javascript/)

    // A browser without credentials: the challenge, and nothing drawn.
    const { dashboard: refused, status } = await openDashboard(browser, `${admin}/`, {})
    contexts.push(refused.context)
    expect(status).toBe(401)
    expect(await refused.page.locator('[data-node]').count()).toBe(0)
    expect(await refused.page.locator('#connection').count()).toBe(0)

    // With them, the tree.
    const dashboard = await open(admin)
    await readyWorkers(dashboard, 2)
    expect(await dashboard.page.locator('[data-node][data-role="root"]').isVisible()).toBe(true)
    expect((await master.stop()).code).toBe(0)
  }, 90_000)

  it('the kill button on a worker and the restart button on an app actor, each confirmed: outcome ok, one more restart', async () => {
    const { master, admin, port, tree } = await serveDashboard({ app: actorApp })
    const dashboard = await open(admin)
    await readyWorkers(dashboard, 2)
    const actorPath = '/troupe/actors/tally'
    const actorNode = dashboard.page.locator(`[data-node][data-path="${actorPath}"]`)
    await actorNode.waitFor({ timeout: SETTLE_MS })
    expect(await actorNode.getAttribute('data-restarts')).toBe('0')
    const w1Before = workersOf(await tree()).find((w) => w.name === 'w1')!

    // Cancelled: nothing happens (the confirmed kill below makes it restart 1, not 2).
    const kill = 'button[data-action="kill"][data-worker="w1"]'
    await confirmAction(dashboard, kill, 'cancel')
    const before = (await dashboard.page.locator('#outcome').textContent()) ?? ''
    await confirmAction(dashboard, kill)
    expect(await outcomeOk(dashboard, before)).toContain('w1')
    await readyWorkers(dashboard, 2, (view) =>
      view.workers.some((w) => w.worker === 'w1' && w.restarts === 1),
    )
    const w1After = workersOf(await tree()).find((w) => w.name === 'w1')!
    expect(w1After).toMatchObject({ state: 'ready', restarts: 1, lastExit: { kind: 'killed' } })
    expect(w1After.threadId).not.toBe(w1Before.threadId)
    expect((await dashboard.view()).workers.find((w) => w.worker === 'w2')?.restarts).toBe(0)

    // The actor counts; its restart starts it afresh.
    for (let i = 0; i < 2; i++) expect((await get(port, '/bump')).status).toBe(202)
    await eventually(async () => (await get(port, '/count')).body === '2', SETTLE_MS, 'the tally to count 2')
    const afterKill = (await dashboard.page.locator('#outcome').textContent()) ?? ''
    await confirmAction(dashboard, `button[data-action="restart"][data-actor="${actorPath}"]`)
    expect(await outcomeOk(dashboard, afterKill)).toContain('tally')
    await eventually(
      async () =>
        (await actorNode.getAttribute('data-restarts')) === '1' &&
        (await actorNode.getAttribute('data-state')) === 'ready',
      SETTLE_MS,
      'the actor node to show restart 1, ready',
    )
    const actor = (await tree())
      .children!.find((c) => c.name === 'actors')!
      .children!.find((a) => a.path === actorPath)!
    expect(actor).toMatchObject({ state: 'ready', restarts: 1 })
    // The app still answers, through an actor that counts from 0 again.
    expect(await get(port, '/count')).toEqual({ status: 200, body: '0' })
    expect((await master.stop()).code).toBe(0)
  }, 120_000)

  it('actions are refused cross-site: no x-troupe-action header, or a foreign Origin, is a 4xx and no reload', async () => {
    const { master, admin, stats, tree } = await serveDashboard()
    const bearer = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }
    const refusals = [
      // What a cross-site form can send: no custom header.
      { ...bearer },
      { ...bearer, 'content-type': 'text/plain' },
      // What a cross-site script would send, had it the header.
      { ...bearer, 'x-troupe-action': '1', origin: 'https://evil.example' },
    ]
    for (const headers of refusals) {
      const answer = await adminPost(admin, '/actions/reload', headers, '{}')
      expect(answer.status, `${JSON.stringify(headers)}: ${answer.body}`).toBeGreaterThanOrEqual(400)
      expect(answer.status).toBeLessThan(500)
    }
    expect((await stats()).instance.generation).toBe(1)
    expect(
      workersOf(await tree()).map((w) => [w.name, (w.info as { generation?: number }).generation]),
    ).toEqual([
      ['w1', 1],
      ['w2', 1],
    ])
    expect(master.stderr).not.toMatch(/reload(ed|ing)?:/)

    // The same request from the dashboard's own origin, with the header, does reload.
    const done = await adminPost(
      admin,
      '/actions/reload',
      { ...bearer, 'x-troupe-action': '1', origin: new URL(admin).origin },
      '{}',
    )
    expect(done.status, done.body).toBe(200)
    expect(JSON.parse(done.body)).toMatchObject({ ok: true })
    expect((await stats()).instance.generation).toBe(2)
    expect((await master.stop()).code).toBe(0)
  }, 90_000)

  it('the master is replaced (USR2): the open page reconnects by itself at the same address and shows the new master and its workers', async () => {
    const { master, admin } = await serveDashboard()
    const dashboard = await open(admin)
    const oldPid = master.pid
    expect((await readyWorkers(dashboard, 2)).workers.every((w) => w.pid === oldPid)).toBe(true)
    master.signal('SIGUSR2')
    const [, started] = await master.waitForStderr(
      /^troupe: upgrade: started a new master \(pid (\d+)\)/m,
      SETTLE_MS,
    )
    const newPid = Number(started)
    onTestFinished(() => {
      try {
        process.kill(newPid, 'SIGKILL')
      } catch {}
    })
    expect((await master.exitWithin(30_000)).code).toBe(0)
    // Thread workers carry their master's pid: the new master's workers, drawn from its feed.
    await readyWorkers(dashboard, 2, (view) => view.workers.every((w) => w.pid === newPid))
    await dashboard.page.locator('#connection[data-state="live"]').waitFor({ timeout: SETTLE_MS })
    expect(await dashboard.page.locator('#connection').getAttribute('title')).toContain(`now pid ${newPid}`)
    // The page first: with no master left, its reconnections would be refused (console errors).
    await dashboard.context.close()
    process.kill(newPid, 'SIGTERM')
    await eventually(
      () => {
        try {
          process.kill(newPid, 0)
          return false
        } catch {
          return true
        }
      },
      30_000,
      'the new master to exit',
    )
  }, 90_000)

  it('lays out at 1280×800 and 390×844: tree and totals visible, no horizontal scroll', async () => {
    const { master, admin } = await serveDashboard()
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const at = `${viewport.width}×${viewport.height}`
      const dashboard = await open(admin, { viewport })
      await readyWorkers(dashboard, 2)
      const { page } = dashboard
      expect(await page.locator('[data-node][data-role="root"]').isVisible(), `${at}: the tree`).toBe(true)
      for (const node of await page.locator('[data-node][data-role="worker"]').all())
        expect(await node.isVisible(), `${at}: a worker node`).toBe(true)
      expect(await page.locator('#totals').isVisible(), `${at}: the totals`).toBe(true)
      const widths = (await page.evaluate(
        '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
      )) as { scrollWidth: number; innerWidth: number }
      expect(widths.scrollWidth, `${at}: no horizontal scroll`).toBeLessThanOrEqual(widths.innerWidth)
    }
    expect((await master.stop()).code).toBe(0)
  }, 90_000)

  it('under load: a screenshot of the page (spec/.artifacts/, not committed) and its load time, printed', async () => {
    requireWrk()
    const { master, admin, port } = await serveDashboard()
    const dashboard = await open(admin)
    await readyWorkers(dashboard, 2)
    const timing = (await dashboard.page.evaluate(
      `(() => { const n = performance.getEntriesByType('navigation')[0]; return { responseEnd: n.responseEnd, domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd } })()`,
    )) as { responseEnd: number; domContentLoaded: number; load: number }
    console.log(
      `dashboard page load (Navigation Timing, ms from navigation start): response ${timing.responseEnd.toFixed(0)}, DOMContentLoaded ${timing.domContentLoaded.toFixed(0)}, load ${timing.load.toFixed(0)}`,
    )

    const quiet = await dashboard.page.locator('#totals').textContent()
    const load = startWrk(`http://127.0.0.1:${port}/`, { connections: 16, threads: 1, seconds: 120 })
    // The totals change with each frame: three of them under load make a picture of it.
    const seen = new Set([quiet])
    await eventually(
      async () => {
        seen.add(await dashboard.page.locator('#totals').textContent())
        return seen.size > 3
      },
      SETTLE_MS,
      'three frames of the totals under load',
    )
    fs.mkdirSync(artifacts, { recursive: true })
    const file = path.join(artifacts, 'dashboard-under-load.png')
    await dashboard.page.screenshot({ path: file, fullPage: true })
    console.log(`dashboard screenshot under load: ${file}`)
    expect(fs.statSync(file).size).toBeGreaterThan(0)
    const result = await load.stop()
    expect(result.socketErrors + result.non2xx, result.output).toBe(0)
    expect((await master.stop()).code).toBe(0)
  }, 90_000)
})
