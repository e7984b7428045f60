/**
 * The access log as an operator reads it: one line per response, written by the workers
 * themselves, in both placements and both kinds; the common and combined formats exactly;
 * nothing lost on a graceful stop; USR1 after a logrotate-style rename.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { AccessLog } from '../actors/http-worker/access-log.ts'
import { type AccessEntry, clfTime, compileAccessLogFormat } from '../actors/http-worker/access-log-format.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { fixturePath } from './support/serve.ts'
import { run, start, type Troupe, tempDir } from './support/troupe-cli.ts'

/** One request on its own connection, with a user agent and a referer; resolves with the status. */
const request = (port: number, target: string, method = 'GET'): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: target,
        method,
        agent: false,
        headers: { 'user-agent': 'probe/1.0', referer: 'http://shop.test/cart' },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode!))
      },
    )
    req.on('error', reject)
    req.end()
  })

/** The lines of `file` so far (none while it does not exist). */
const linesOf = (file: string): string[] =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []

const waitLines = (read: () => string[], n: number): Promise<string[]> =>
  eventually(
    () => {
      const lines = read()
      return lines.length >= n ? lines : undefined
    },
    15_000,
    `${n} access log lines; so far:\n${read().join('\n')}`,
  )

const serveLogged = async (
  dir: string,
  args: readonly string[],
): Promise<{ troupe: Troupe; port: number }> => {
  const troupe = start(['serve', fixturePath('access-app.ts'), '--bind', '127.0.0.1:0', ...args], {
    cwd: dir,
  })
  const { port } = await troupe.serving()
  return { troupe, port }
}

const TIME = String.raw`\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]`
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The expected common-format line, the time left as a pattern. */
const common = (target: string, status: number, bytes: string, method = 'GET') =>
  new RegExp(`^127\\.0\\.0\\.1 - - ${TIME} "${method} ${literal(target)} HTTP/1\\.1" ${status} ${bytes}$`)

describe.each([
  ['thread', 'coroutine'],
  ['process', 'coroutine'],
  ['thread', 'thread-pool'],
  ['process', 'thread-pool'],
] as const)('the access log (%s placement, %s kind)', (placement, kind) => {
  it('common format: one exact line per response, from every worker, none lost on a graceful stop', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'access.log')
    const signals = handlerSignals()
    const { troupe, port } = await serveLogged(dir, [
      '--workers',
      '2',
      '--placement',
      placement,
      '--kind',
      kind,
      '--access-log',
      file,
    ])
    const targets = Array.from({ length: 10 }, (_, i) => `/bytes?n=${i + 1}&i=${i}`)
    expect(await Promise.all(targets.map((t) => request(port, t)))).toEqual(targets.map(() => 200))
    expect(await request(port, '/stream?n=300')).toBe(200)
    expect(await request(port, '/?status=404&n=4')).toBe(404)
    expect(await request(port, '/?n=7', 'HEAD')).toBe(200)
    // A request in flight when the stop begins: answered during the drain, and logged.
    const held = request(port, `/held?n=2&${signals.held}`)
    await signals.waitStarted(1)
    troupe.signal('SIGTERM')
    await troupe.waitForStderr(/graceful stop: draining/)
    signals.open()
    expect(await held).toBe(200)
    const exit = await troupe.exitWithin()
    expect(exit.code, exit.stderr).toBe(0)

    const lines = linesOf(file)
    expect(lines).toHaveLength(14)
    for (const [i, target] of targets.entries())
      expect(lines.filter((l) => common(target, 200, String(i + 1)).test(l))).toHaveLength(1)
    expect(lines.filter((l) => common('/stream?n=300', 200, '300').test(l))).toHaveLength(1)
    expect(lines.filter((l) => common('/?status=404&n=4', 404, '4').test(l))).toHaveLength(1)
    expect(lines.filter((l) => common('/?n=7', 200, '-', 'HEAD').test(l))).toHaveLength(1)
    expect(lines.filter((l) => common(`/held?n=2&${signals.held}`, 200, '2').test(l))).toHaveLength(1)
  })
})

describe.each([
  ['thread', 'coroutine'],
  ['process', 'thread-pool'],
] as const)('combined format (%s placement, %s kind)', (placement, kind) => {
  it('adds the referer and the user agent', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'access.log')
    const { troupe, port } = await serveLogged(dir, [
      '--placement',
      placement,
      '--kind',
      kind,
      '--access-log',
      file,
      '--access-log-format',
      'combined',
    ])
    expect(await request(port, '/a?n=12')).toBe(200)
    const [line] = await waitLines(() => linesOf(file), 1)
    expect(line).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1 - - ${TIME} "GET /a\\?n=12 HTTP/1\\.1" 200 12 "http://shop\\.test/cart" "probe/1\\.0"$`,
      ),
    )
    expect((await troupe.stop()).code).toBe(0)
  })
})

it("'-' writes the lines to standard output, from a thread worker too", async () => {
  const dir = tempDir()
  const { troupe, port } = await serveLogged(dir, ['--workers', '2', '--access-log', '-'])
  await Promise.all(Array.from({ length: 6 }, (_, i) => request(port, `/out?n=${i}`)))
  const lines = await waitLines(() => troupe.stdout.split('\n').filter(Boolean), 6)
  for (let i = 0; i < 6; i++)
    expect(lines.filter((l) => common(`/out?n=${i}`, 200, i === 0 ? '-' : String(i)).test(l))).toHaveLength(1)
  expect(troupe.stderr).not.toMatch(/GET \/out/)
  expect((await troupe.stop()).code).toBe(0)
})

describe.each(['thread', 'process'] as const)(
  'USR1 after logrotate moved the file (%s placement)',
  (placement) => {
    it('new lines go to a new file at the path; the moved file keeps the earlier ones; none lost', async () => {
      const dir = tempDir()
      const file = path.join(dir, 'access.log')
      const { troupe, port } = await serveLogged(dir, [
        '--workers',
        '2',
        '--placement',
        placement,
        '--access-log',
        file,
      ])
      const before = Array.from({ length: 6 }, (_, i) => `/before?i=${i}`)
      await Promise.all(before.map((t) => request(port, t)))
      await waitLines(() => linesOf(file), 6)
      fs.renameSync(file, `${file}.1`)
      troupe.signal('SIGUSR1')
      await troupe.waitForStderr(/^troupe: reopened log files \(2 workers\)$/m)
      const after = Array.from({ length: 6 }, (_, i) => `/after?i=${i}`)
      await Promise.all(after.map((t) => request(port, t)))
      await waitLines(() => linesOf(file), 6)
      expect((await troupe.stop()).code).toBe(0)

      const rotated = linesOf(`${file}.1`)
      const fresh = linesOf(file)
      expect(rotated).toHaveLength(6)
      expect(fresh).toHaveLength(6)
      for (const t of before) expect(rotated.filter((l) => l.includes(`"GET ${t} `))).toHaveLength(1)
      for (const t of after) expect(fresh.filter((l) => l.includes(`"GET ${t} `))).toHaveLength(1)
    })
  },
)

it('a path no worker could append to is refused before any worker starts, in one coded line', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'missing', 'access.log')
  const exit = await run(
    ['serve', fixturePath('access-app.ts'), '--bind', '127.0.0.1:0', '--access-log', file],
    {
      cwd: dir,
    },
  )
  expect(exit.code).toBe(1)
  expect(exit.stderr).toBe(`troupe: accessLog: cannot append to ${file}: ENOENT [TROUPE_E_CONFIG]\n`)
})

describe('formats', () => {
  const entry: AccessEntry = {
    startedAt: Date.UTC(2026, 10, 27, 15, 40, 1, 250),
    durationMs: 12.5,
    remote: '10.0.0.7',
    method: 'POST',
    url: '/cart/items?id=3',
    httpVersion: '1.1',
    status: 201,
    bytes: 0,
    referer: undefined,
    userAgent: 'curl/8.5',
    worker: 'w3',
  }

  it('common and combined, as Apache writes them', () => {
    const time = clfTime(entry.startedAt)
    expect(time).toMatch(/^27\/Nov\/2026:\d{2}:\d{2}:01 [+-]\d{4}$/)
    expect(compileAccessLogFormat('common')(entry)).toBe(
      `10.0.0.7 - - [${time}] "POST /cart/items?id=3 HTTP/1.1" 201 -`,
    )
    expect(compileAccessLogFormat('combined')(entry)).toBe(
      `10.0.0.7 - - [${time}] "POST /cart/items?id=3 HTTP/1.1" 201 - "-" "curl/8.5"`,
    )
  })

  it('json: one record with the same facts', () => {
    expect(JSON.parse(compileAccessLogFormat('json')(entry))).toEqual({
      time: '2026-11-27T15:40:01.250Z',
      remote: '10.0.0.7',
      method: 'POST',
      url: '/cart/items?id=3',
      protocol: 'HTTP/1.1',
      status: 201,
      bytes: 0,
      ms: 12.5,
      referer: null,
      agent: 'curl/8.5',
      worker: 'w3',
    })
  })

  it('a template of gunicorn-style fields, literal text kept', () => {
    expect(compileAccessLogFormat('%(w)s %(m)s %(U)s ?%(q)s %(s)s %(B)s %(M)sms %(D)sus %(a)s')(entry)).toBe(
      'w3 POST /cart/items ?id=3 201 0 13ms 12500us curl/8.5',
    )
  })
})

describe('a log that cannot be written', () => {
  it('says so once, drops lines and serves on, then says how many were lost once writing works again', () => {
    const dir = tempDir()
    const target = path.join(dir, 'access.log')
    // Every write to /dev/full fails with ENOSPC: a full disk.
    fs.symlinkSync('/dev/full', target)
    const heard: string[] = []
    const log = new AccessLog('w1', target, 'common', (error) => heard.push(error.message))
    const entry: AccessEntry = {
      startedAt: Date.now(),
      durationMs: 1,
      remote: '127.0.0.1',
      method: 'GET',
      url: '/',
      httpVersion: '1.1',
      status: 200,
      bytes: 2,
      referer: undefined,
      userAgent: undefined,
      worker: 'w1',
    }
    for (let i = 0; i < 3; i++) log.write(entry)
    log.flush()
    for (let i = 0; i < 2; i++) log.write(entry)
    log.flush()
    expect(heard).toHaveLength(1)
    expect(heard[0]).toMatch(/ENOSPC/)
    // Room again (logrotate's USR1 after the link is pointed elsewhere).
    fs.rmSync(target)
    fs.writeFileSync(target, '')
    log.reopen()
    log.write(entry)
    log.flush()
    expect(heard).toEqual([heard[0], 'writing again; 5 line(s) were lost meanwhile'])
    expect(fs.readFileSync(target, 'utf8').split('\n').filter(Boolean)).toHaveLength(1)
    log.close()
  })
})
