#!/usr/bin/env node
/**
 * Smoke test of the built package (`npm run build` first) on whichever Node runs this file:
 * the Node versions `engines` claims that cannot run the test suite (it needs type stripping)
 * run this instead, e.g. `npm run build && /path/to/node22.12/bin/node spec/smoke/serve-built.mjs`.
 * Plain JavaScript on purpose. Prints one line per check and `N passed, N failed`; exits 1 on
 * any failure.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-smoke-'))
const [major, minor] = process.versions.node.split('.').map(Number)
const threadHandoff = major > 26 || (major === 26 && minor >= 6)
const stripsTypes = process.features.typescript === 'strip' || process.features.typescript === 'transform'
fs.writeFileSync(
  path.join(dir, 'app.mjs'),
  'export default { fetch: (req, ctx) => Response.json({ generation: ctx.worker.generation, pid: ctx.worker.pid }) }\n',
)
fs.writeFileSync(path.join(dir, 'shop.config.ts'), "export default { app: './app.mjs' } as const\n")
fs.writeFileSync(path.join(dir, 'app.ts'), "export default { fetch: (): Response => new Response('ts') }\n")

let passed = 0
let failed = 0
const check = (ok, what, detail = '') => {
  if (ok) passed++
  else failed++
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || !detail ? '' : `\n${detail}`}\n`)
}

/** Runs the CLI; resolves on its exit, or on `until(stderr)` with the child still running. */
const troupe = (args, until) =>
  new Promise((resolve) => {
    // Text log lines, as at a terminal: on a pipe the default would be JSON records.
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: dir,
      env: { ...process.env, TROUPE_LOG_FORMAT: 'text' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk
      if (until?.(stderr))
        resolve({ child, stderr: () => stderr, exited: new Promise((r) => child.once('close', r)) })
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr: () => stderr })
    })
  })

const get = (port) =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c) => {
          body += c
        })
        res.on('end', () => resolve(JSON.parse(body)))
      })
      .on('error', reject)
  })

/** Status, content type and body of GET `url`. */
const fetchText = (url) =>
  new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c) => {
          body += c
        })
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }))
      })
      .on('error', reject)
  })

const waitFor = async (run, pattern) => {
  for (let i = 0; i < 200 && !pattern.test(run.stderr()); i++) await new Promise((r) => setTimeout(r, 50))
  return pattern.exec(run.stderr())
}

try {
  const serving = /^troupe: serving .* on 127\.0\.0\.1:(\d+) — .*$/m
  const run = await troupe(['serve', 'app.mjs', '--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0'], (s) =>
    serving.test(s),
  )
  const line = serving.exec(run.stderr())
  check(line !== null, `serve app.mjs with no placement runs on Node ${process.version}`, run.stderr())
  if (line && run.child) {
    if (!threadHandoff)
      check(
        line[0].includes('process placement: thread handoff needs Node >= 26.6'),
        'the serving line says why process placement',
        line[0],
      )
    const port = Number(line[1])
    check((await get(port)).generation === 1, 'it answers')
    // The dashboard's files ship in dist/dashboard/, found from wherever the bundle put this code.
    const admin = /^troupe: admin on (http:\/\/\S+) /m.exec(run.stderr())?.[1]
    const page = admin ? await fetchText(`${admin}/`) : undefined
    check(
      page?.status === 200 && page.type.startsWith('text/html'),
      'the admin listener serves the dashboard page',
      run.stderr(),
    )
    const script = admin ? await fetchText(`${admin}/dashboard/app.js`) : undefined
    check(script?.status === 200 && script.type.startsWith('text/javascript'), 'and its script', script?.body)
    run.child.kill('SIGHUP')
    check((await waitFor(run, /^troupe: reloaded: generation 2\b/m)) !== null, 'HUP reloads', run.stderr())
    check((await get(port)).generation === 2, 'the new generation answers')
    run.child.kill('SIGTERM')
    check((await run.exited) === 0, 'TERM stops it, exit 0', run.stderr())
  }

  const ts = await troupe(['serve', 'app.ts', '--bind', '127.0.0.1:0'], (s) => serving.test(s))
  if (stripsTypes) {
    check(ts.child !== undefined, 'a .ts app serves on a Node that strips types', ts.stderr())
    ts.child?.kill('SIGTERM')
    await ts.exited
  } else
    check(
      ts.code === 1 &&
        /is TypeScript, which this Node \(v[\d.]+\) cannot run: type stripping needs Node >= 22\.18.*\[TROUPE_E_APP_LOAD\]$/.test(
          ts.stderr().trim(),
        ),
      'a .ts app is refused in one coded line naming the Node needed',
      ts.stderr(),
    )

  if (!stripsTypes) {
    const config = await troupe(['check', '--config', 'shop.config.ts'])
    check(
      config.code === 1 &&
        /^troupe: config file .*shop\.config\.ts is TypeScript, .*\[TROUPE_E_CONFIG\]$/.test(
          config.stderr().trim(),
        ),
      'a .ts config file is refused in one coded line naming the Node needed',
      config.stderr(),
    )
  }

  if (!threadHandoff) {
    const refused = await troupe([
      'serve',
      'app.mjs',
      '--bind',
      '127.0.0.1:0',
      '--placement',
      'thread',
      '--strategy',
      'handoff',
    ])
    check(
      refused.code === 1 && refused.stderr().includes('[TROUPE_E_PLACEMENT_UNSUPPORTED]'),
      'thread placement with handoff, both asked for, is refused',
      refused.stderr(),
    )
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exitCode = failed === 0 ? 0 : 1
