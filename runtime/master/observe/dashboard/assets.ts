/**
 * The page's files, shipped inside the package: `page/` beside this file in the sources, and
 * `dist/dashboard/` in the build (tsup bundles this module into a file at dist/'s root and
 * copies the folder there). Read once, on the first request, and kept: they are small, and a
 * file changed under a running master should not change the page it serves.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { linkPage } from './page-script.ts'

export interface Asset {
  readonly body: Buffer
  readonly type: string
  readonly etag: string
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

const pageDir = (): string => {
  for (const relative of ['./dashboard/', './page/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(`${dir}index.html`)) return dir
  }
  throw new Error('the dashboard page is missing from this install (no dashboard/index.html)')
}

/** The script index.html loads. */
const ENTRY = 'app.js'
const PAGE = 'index.html'
const STYLE = 'style.css'

let loaded: ReadonlyMap<string, Asset> | undefined
let scriptHash = ''

/**
 * The page with its style sheet and script inside it: one fetch in all. Each fetch costs a
 * browser tens of milliseconds here, more than these 60 KB take to arrive over loopback. The
 * files stay servable on their own (`/dashboard/app.js`), for a reader and for a proxy's cache.
 */
const inlined = (html: string, css: string, script: string): string => {
  const sheet = `<link rel="stylesheet" href="/dashboard/${STYLE}">`
  const tag = `<script type="module" src="/dashboard/${ENTRY}"></script>`
  if (!html.includes(sheet) || !html.includes(tag))
    throw new Error(`dashboard page: ${PAGE} must load ${sheet} and ${tag}, which it inlines`)
  // Inside a <script> or <style>, "</" could end it early: the page's code never needs it.
  if (script.includes('</') || css.includes('</'))
    throw new Error('dashboard page: the script or the style sheet contains "</", which would end it inline')
  return html
    .replace(sheet, () => `<style>\n${css}</style>`)
    .replace(tag, () => `<script type="module">\n${script}</script>`)
}

/** The inline script's hash, for the Content-Security-Policy that lets it (and only it) run. */
export const pageScriptHash = (): string => {
  assets()
  return scriptHash
}

/** The page's files by name (`index.html`, `app.js`…); only these are ever served, so no path escapes the folder. */
export const assets = (): ReadonlyMap<string, Asset> => {
  if (loaded) return loaded
  const dir = pageDir()
  const bodies = new Map<string, Buffer>()
  for (const name of readdirSync(dir))
    if (TYPES[extname(name)] !== undefined) bodies.set(name, readFileSync(`${dir}${name}`))
  // The page's script is its modules linked into one (page-script.ts): one fetch, not a dozen.
  const modules = new Map(
    [...bodies].filter(([name]) => name.endsWith('.js')).map(([name, body]) => [name, body.toString('utf8')]),
  )
  const script = linkPage(modules, ENTRY)
  bodies.set(ENTRY, Buffer.from(script))
  bodies.set(
    PAGE,
    Buffer.from(inlined(bodies.get(PAGE)!.toString('utf8'), bodies.get(STYLE)!.toString('utf8'), script)),
  )
  // Over the exact text between the tags, as the browser hashes it.
  scriptHash = `sha256-${createHash('sha256').update(`\n${script}`).digest('base64')}`
  const files = new Map<string, Asset>()
  for (const [name, body] of bodies) {
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`
    files.set(name, { body, type: TYPES[extname(name)]!, etag })
  }
  loaded = files
  return files
}
