/**
 * A real browser for a test: Debian's `chromium` driven by playwright-core, and what a test
 * reads of the dashboard's page through the page's DOM contract (data-node, data-worker,
 * data-generation-group…). The browser-side code is plain JavaScript in strings: it runs in the
 * page, not in Node, and the project's TypeScript has no DOM types.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

/** The Chromium binary: Debian's, else the first `chromium` on the PATH; undefined if none. */
export const chromiumPath = (): string | undefined => {
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium'
  const which = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' })
  const found = which.stdout.trim()
  return which.status === 0 && found !== '' ? found : undefined
}

/** Why the browser tests cannot run here, or null when they can. */
export const chromiumMissing = (): string | null =>
  chromiumPath() === undefined
    ? 'chromium is not installed (neither /usr/bin/chromium nor chromium on the PATH): apt-get install -y chromium (.ci/run installs it as root)'
    : null

/** A headless Chromium; the caller closes it. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: chromiumPath()!, headless: true })

/** One worker node as the page draws it: the attributes of its `[data-node][data-role="worker"]`. */
export interface PageWorker {
  readonly worker: string
  readonly path: string
  readonly state: string
  readonly restarts: number
  readonly generation: number
  readonly pid: number | null
  readonly threadId: number | null
}

/** One generation group of the page: `[data-generation-group="N"]`, draining or not. */
export interface PageGeneration {
  readonly generation: number
  readonly draining: boolean
}

/** What the page shows at one moment, as far as the tests read it. */
export interface PageView {
  readonly workers: readonly PageWorker[]
  readonly generations: readonly PageGeneration[]
}

/** In the page: the PageView of the document now (an expression of a function of no argument). */
const VIEW_FUNCTION = `() => {
  const number = (value) => (value === undefined || value === '' ? null : Number(value))
  return {
    workers: [...document.querySelectorAll('[data-node][data-role="worker"]')].map((node) => ({
      worker: node.dataset.worker,
      path: node.dataset.path,
      state: node.dataset.state,
      restarts: Number(node.dataset.restarts),
      generation: Number(node.dataset.generation),
      pid: number(node.dataset.pid),
      threadId: number(node.dataset.threadId),
    })),
    generations: [...document.querySelectorAll('[data-generation-group]')].map((group) => ({
      generation: Number(group.dataset.generationGroup),
      draining: group.dataset.draining === 'true',
    })),
  }
}`

/**
 * Runs in the page before its own scripts: every distinct PageView the document goes through
 * is kept in `window.__dashViews`, so a test can tell what the page showed between two of its
 * own looks (a worker restarting for half a second, two generations during a reload).
 */
const RECORDER = `(() => {
  const view = ${VIEW_FUNCTION}
  const seen = []
  let last = ''
  const note = () => {
    const now = view()
    const key = JSON.stringify(now)
    if (key !== last) {
      last = key
      seen.push(now)
    }
  }
  Object.defineProperty(window, '__dashViews', { value: seen })
  new MutationObserver(note).observe(document, { subtree: true, childList: true, attributes: true })
})()`

/** An open dashboard page and what it said on its console. */
export interface Dashboard {
  readonly context: BrowserContext
  readonly page: Page
  /** Console errors and uncaught exceptions of the page, in order. */
  readonly errors: string[]
  /** What the page shows now. */
  view(): Promise<PageView>
  /** Every distinct view the page went through since it loaded, oldest first. */
  views(): Promise<PageView[]>
}

export interface OpenOptions {
  readonly viewport?: { readonly width: number; readonly height: number }
  /** HTTP Basic credentials (the dashboard takes any user and the admin token as password); none: a browser without them. */
  readonly password?: string
}

/**
 * A fresh browser context (no cookies, no cached credentials) with the recorder installed,
 * and a page on `url`; the caller closes `context`. Resolves once the page loaded, with the
 * status of the document's last answer. Without credentials a 401 fails the navigation (the
 * browser has nothing to answer the challenge with): that is said in `navigationError`.
 */
export const openDashboard = async (browser: Browser, url: string, options: OpenOptions = {}) => {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    ...(options.password === undefined
      ? {}
      : { httpCredentials: { username: 'troupe', password: options.password } }),
  })
  await context.addInitScript({ content: RECORDER })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`)
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.stack ?? error.message}`))
  // The document's own answers: a 401 that the browser then cannot answer (no credentials)
  // fails the navigation, yet its status is what the test asks about.
  const statuses: number[] = []
  page.on('response', (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame())
      statuses.push(response.status())
  })
  let navigationError: string | undefined
  try {
    await page.goto(url, { waitUntil: 'load' })
  } catch (error) {
    if (options.password !== undefined) throw error
    navigationError = (error as Error).message
  }
  const dashboard: Dashboard = {
    context,
    page,
    errors,
    view: () => page.evaluate(`(${VIEW_FUNCTION})()`) as Promise<PageView>,
    views: () => page.evaluate('window.__dashViews') as Promise<PageView[]>,
  }
  return { dashboard, status: statuses.at(-1) ?? 0, navigationError }
}

/** A value as a JavaScript literal, for the expressions a test evaluates in the page. */
export const js = (value: unknown): string => JSON.stringify(value)

/**
 * Waits until the JavaScript `expression` holds in the page, checked every 20 ms in the page
 * itself; rejects after `ms` saying `what`. (Playwright's own waitForFunction evaluates a string
 * with eval, which the dashboard's Content-Security-Policy rightly forbids.)
 */
export const waitInPage = async (page: Page, expression: string, ms: number, what: string): Promise<void> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting in the page for ${what}`)),
      ms,
    )
  })
  const held = page.evaluate(`new Promise((resolve) => {
    const check = () => ((${expression}) ? resolve(true) : setTimeout(check, 20))
    check()
  })`)
  held.catch(() => {})
  try {
    await Promise.race([held, timeout])
  } finally {
    clearTimeout(timer)
  }
}
