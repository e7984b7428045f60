/**
 * A dashboard left open for a day holds no more than one left open for a few minutes. Hours of
 * frames (one a second) cannot be waited for in a test, so after a real hello from a real
 * master the page's stream is fed the frames of hours in seconds: the same page, in a real
 * browser, with workers coming and going and events on every frame. Its JS heap (after a
 * garbage collection) and its DOM stop growing once the history and the event log are full.
 */

import { fileURLToPath } from 'node:url'
import type { Browser, CDPSession, Route } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import type { WorkerStats } from '../runtime/master/control/api.ts'
import { startServer } from '../runtime/master/master.ts'
import type { DashEvent, Frame, Hello, Sample } from '../runtime/master/observe/dashboard/feed-types.ts'
import { chromiumMissing, launchChromium, openDashboard } from './support/browser.ts'
import { openEventStream } from './support/event-stream.ts'

const missing = chromiumMissing()
if (missing) console.warn(`spec/dashboard.page-bounds.test.ts: skipped: ${missing}`)

const visitsApp = fileURLToPath(new URL('../apps/visits.ts', import.meta.url))
/** Frames per reconnection of the stream; the page measured between two. */
const BATCH = 500
const BATCHES = 16

const sample = (at: number, i: number): Sample => ({
  at,
  rps: 1_000 + (i % 50),
  p50Ms: 1 + (i % 7) / 10,
  p99Ms: 20 + (i % 13),
  status: { '1xx': 0, '2xx': 1_000, '3xx': 0, '4xx': i % 3, '5xx': i % 5 === 0 ? 1 : 0 },
})

/**
 * Frame `i` of a long day: every 100 frames one worker is replaced by a new one (a scale
 * down and up: the page must forget the old one's history), three events a frame.
 */
const frameOf = (hello: Hello, i: number, nextEvent: () => number): Frame => {
  const at = hello.snapshot.at + (i + 1) * 1_000
  const template = hello.snapshot.workers[0]!
  const generationShift = Math.floor(i / 100)
  const workers: WorkerStats[] = [0, 1, 2, 3].map((slot) => {
    const id = `w${slot === 3 ? 4 + generationShift : slot + 1}`
    return { ...template, id, path: `${template.path.replace(/w\d+$/, id)}` }
  })
  const workersNode = hello.snapshot.tree.children!.find((c) => c.name === 'workers')!
  const tree = {
    ...hello.snapshot.tree,
    children: hello.snapshot.tree.children!.map((child) =>
      child !== workersNode
        ? child
        : {
            ...workersNode,
            children: workers.map((w) => ({ ...workersNode.children![0]!, name: w.id, path: w.path })),
          },
    ),
  }
  const events: DashEvent[] = [0, 1, 2].map((k) => ({
    id: nextEvent(),
    at,
    level: 'info',
    event: k === 0 ? 'worker.ready' : 'worker.exit',
    msg: `worker w${k} said something long enough to matter at frame ${i}: ${'x'.repeat(80)}`,
    subject: `w${k}`,
  }))
  return {
    snapshot: { ...hello.snapshot, at, tree, workers, instance: { ...hello.snapshot.instance, workers: 4 } },
    total: sample(at, i),
    workers: Object.fromEntries(workers.map((w) => [w.id, sample(at, i)])),
    acceptor: { at, queued: i % 4, refused: 0 },
    events,
  }
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

let browser: Browser
beforeAll(async () => {
  if (!missing) browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

describe.skipIf(missing !== null)('a page left open', () => {
  it('stops growing once its history and its event log are full: two hours of frames (8,000) hold what five minutes do', async () => {
    const { config } = resolveConfig({
      flags: { app: visitsApp, bind: ['127.0.0.1:0'], workers: 2, admin: '127.0.0.1:0' },
    })
    const server = await startServer(config)
    onTestFinished(() => server.stop({ graceful: false }))
    const admin = `http://${server.info().admin}`
    const real = await openEventStream(`${admin}/events`)
    const hello = await real.next<Hello>('hello')
    real.close()

    let event = hello.events.reduce((n, e) => Math.max(n, e.id), 0)
    const nextEvent = () => ++event
    let frames = 0
    const measures: { frames: number; heap: number; nodes: number; events: number }[] = []
    let cdp: CDPSession | undefined
    let done: () => void
    const finished = new Promise<void>((resolve) => {
      done = resolve
    })
    const { dashboard } = await openDashboard(browser, 'about:blank')
    onTestFinished(() => dashboard.context.close())
    const page = dashboard.page
    // The stream ends after each batch; EventSource reconnects at once (retry: 1), and the
    // reconnection is the sign that the page has taken every frame of the batch.
    await page.route(`${admin}/events`, async (route: Route) => {
      if (frames > 0 && cdp) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        await cdp.send('HeapProfiler.collectGarbage')
        const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }
        const counted = (await page.evaluate(
          `[document.getElementsByTagName('*').length, document.querySelectorAll('#events [data-event]').length]`,
        )) as [number, number]
        measures.push({ frames, heap: usedSize, nodes: counted[0], events: counted[1] })
      }
      if (frames >= BATCH * BATCHES) {
        done()
        await route.abort()
        return
      }
      let body = 'retry: 1\n\n'
      if (frames === 0) body += sse('hello', hello)
      for (let i = 0; i < BATCH; i++) body += sse('frame', frameOf(hello, frames++, nextEvent))
      await route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body })
    })
    cdp = await dashboard.context.newCDPSession(page)
    await page.goto(admin, { waitUntil: 'load' })
    await finished

    expect(dashboard.errors).toEqual([])
    expect(measures.length).toBe(BATCHES)
    // Full after the first batch: 300 samples, 500 events.
    const full = measures[1]!
    const day = measures.at(-1)!
    expect(day.frames).toBe(BATCH * BATCHES)
    expect(day.events).toBeLessThanOrEqual(500)
    expect(day.nodes).toBeLessThanOrEqual(full.nodes * 1.05)
    // A heap after a collection still varies by a few hundred KB from one look to the next: the
    // least of the last looks against the most of the first ones. A leak of 100 bytes a frame
    // would add 2 MB over the day, more than the page's whole heap.
    const first = measures.slice(1, 7).map((m) => m.heap)
    const last = measures.slice(-6).map((m) => m.heap)
    expect(Math.min(...last)).toBeLessThan(Math.max(...first) * 1.25)
    console.log(
      `page bounds: ${measures.map((m) => `${m.frames} frames: heap ${(m.heap / 1e6).toFixed(1)} MB, ${m.nodes} nodes`).join('; ')}`,
    )
  }, 240_000)
})
