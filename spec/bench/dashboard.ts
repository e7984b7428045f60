/**
 * The dashboard's costs, in a real browser against a real `troupe serve` (process placement,
 * so the master's pid counts the master alone):
 * - how long the page takes on loopback, cold (a fresh browser context each time, holding the
 *   credentials): to the load event, and to the workers drawn from the stream's first `hello`;
 *   and how many bytes it moves;
 * - what open pages cost the master: its CPU time over a window with no page open, then with
 *   `--pages` pages open (the feed samples either way; pages add one frame a second each).
 * Run: `npm run bench:dashboard [-- --loads 10] [--pages 10] [--window 10]`. Needs Debian's
 * chromium (`/usr/bin/chromium`); prints the commands it ran and a table.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'

const { values } = parseArgs({
  options: {
    loads: { type: 'string', default: '10' },
    pages: { type: 'string', default: '10' },
    window: { type: 'string', default: '10' },
  },
})
const loads = Number(values.loads)
const pages = Number(values.pages)
const windowSeconds = Number(values.window)
const CHROMIUM = '/usr/bin/chromium'
if (!existsSync(CHROMIUM)) {
  console.log(`skipped: ${CHROMIUM} is missing (Debian: apt-get install chromium)`)
  process.exit(0)
}

const root = fileURLToPath(new URL('../../', import.meta.url))
const TOKEN = 'bench-token'
const BASIC = `Basic ${Buffer.from(`troupe:${TOKEN}`).toString('base64')}`
const args = [
  'runtime/master/cli.ts',
  'serve',
  'apps/visits.ts',
  '--bind',
  '127.0.0.1:0',
  '--workers',
  '4',
  '--placement',
  'process',
  '--admin',
  '127.0.0.1:0',
  '--control',
  'none',
]
console.log(`$ TROUPE_ADMIN_TOKEN=… ${process.execPath} ${args.join(' ')}`)
const troupe: ChildProcess = spawn(process.execPath, args, {
  cwd: root,
  env: {
    ...process.env,
    TROUPE_ADMIN_TOKEN: TOKEN,
    TROUPE_LOG_FORMAT: 'text',
    XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'bench-')),
  },
  stdio: ['ignore', 'ignore', 'pipe'],
})
process.on('exit', () => troupe.kill('SIGKILL'))
let stderr = ''
const admin = await new Promise<string>((resolve, reject) => {
  troupe.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    const url = /admin on (http:\/\/\S+) /.exec(stderr)?.[1]
    if (url && /serving /.test(stderr)) resolve(url)
  })
  troupe.once('exit', () => reject(new Error(`troupe exited:\n${stderr}`)))
})

/** utime + stime of `pid`, in ms. */
const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1_000) / 100
}
const masterCpu = async (seconds: number): Promise<number> => {
  const before = cpuMs(troupe.pid!)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000))
  return (cpuMs(troupe.pid!) - before) / seconds
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const browser = await chromium.launch({ executablePath: CHROMIUM })
try {
  const loadMs: number[] = []
  const drawnMs: number[] = []
  const bytes: number[] = []
  for (let i = 0; i < loads; i++) {
    // The credentials sent up front, as a browser does once it has them: the first visit's
    // 401 challenge (one more round trip, and the password prompt) is not the page's cost.
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: BASIC } })
    // Notes, in the page, when the stream's first worker node appears.
    await context.addInitScript({
      content: `new MutationObserver(() => { if (!window.__drawn && document.querySelector('[data-role="worker"]')) window.__drawn = performance.now() }).observe(document, { subtree: true, childList: true })`,
    })
    const page = await context.newPage()
    let transferred = 0
    page.on('response', async (response) => {
      transferred += (await response.body().catch(() => Buffer.alloc(0))).length
    })
    await page.goto(admin, { waitUntil: 'load' })
    await page.waitForSelector('#connection[data-state="live"]')
    await page.waitForSelector('[data-role="worker"]')
    const drawn = (await page.evaluate('window.__drawn')) as number
    const load = await page.evaluate(() => {
      // Runs in the page: Navigation Timing (the DOM lib is not in this project's types).
      const nav = (performance.getEntriesByType as (type: string) => unknown[])('navigation')[0] as {
        loadEventEnd: number
        startTime: number
      }
      return nav.loadEventEnd - nav.startTime
    })
    loadMs.push(load)
    drawnMs.push(drawn)
    bytes.push(transferred)
    await context.close()
  }
  const idle = await masterCpu(windowSeconds)
  // A context each, as separate browsers: one browser holds at most six HTTP/1.1 connections
  // to a host, and each open page keeps one for its stream.
  const contexts = []
  for (let i = 0; i < pages; i++) {
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: BASIC } })
    contexts.push(context)
    const page = await context.newPage()
    await page.goto(admin)
    await page.waitForSelector('#connection[data-state="live"]')
  }
  const watched = await masterCpu(windowSeconds)
  for (const context of contexts) await context.close()
  console.log('')
  console.log('| measure                                         | median   | min–max           |')
  console.log('| ----------------------------------------------- | -------- | ----------------- |')
  const row = (what: string, xs: number[], unit: string) =>
    console.log(
      `| ${what.padEnd(47)} | ${`${median(xs).toFixed(0)} ${unit}`.padEnd(8)} | ${`${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ${unit}`.padEnd(17)} |`,
    )
  row(`page load, cold, loopback (${loads} loads)`, loadMs, 'ms')
  row('navigation to the workers drawn from the stream', drawnMs, 'ms')
  row('bytes received by a cold load (+ first frames)', bytes, 'B')
  console.log(
    `| master CPU, no page open / ${pages} pages open       | ${idle.toFixed(1)} / ${watched.toFixed(1)} ms per second (${windowSeconds} s windows) |`,
  )
} finally {
  await browser.close()
  troupe.kill('SIGTERM')
}
