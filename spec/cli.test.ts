/**
 * The `troupe` command as a user runs it: a real process started from source, observed only
 * through its exit status, stdout, stderr, the sockets it binds and the HTTP answers it gives.
 * Every run gets a temp directory as its working directory (so the project's own
 * troupe.config.ts is not picked up) and an environment without PORT, WEB_CONCURRENCY or
 * TROUPE_*; every server listens on port 0 or on a socket in its temp directory.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { configKeys } from '../runtime/master/config.ts'
import { handlerSignals } from './support/handler-signals.ts'
import { eventually } from './support/manual-clock.ts'
import { type Exit, get, run, start, tempDir } from './support/troupe-cli.ts'

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url))
const configModule = here('../runtime/master/config.ts')
const fixture = (name: string) => here(`./fixtures/cli/${name}`)
const workerApp = fixture('worker-app.ts')
const { version } = JSON.parse(fs.readFileSync(here('../package.json'), 'utf8')) as { version: string }

/** A usage or start-up mistake: exit 1, one `troupe: ... [CODE]` line naming `fragments`, no stack trace. */
const expectOneLineError = (exit: Exit, code: string, ...fragments: string[]) => {
  expect(exit.code, exit.stderr).toBe(1)
  const lines = exit.stderr.trimEnd().split('\n')
  expect(lines, exit.stderr).toHaveLength(1)
  const [line] = lines as [string]
  expect(line).toMatch(/^troupe: /)
  expect(line).toContain(`[${code}]`)
  for (const fragment of fragments) expect(line).toContain(fragment)
  expect(exit.stderr).not.toMatch(/^\s+at /m)
}

interface Rows {
  get(key: string): { readonly value: string; readonly source: string } | undefined
  readonly size: number
}

/** `troupe check` prints `key  value  (source)` per option. */
const parseCheck = (stdout: string): Rows => {
  const rows = new Map<string, { value: string; source: string }>()
  for (const line of stdout.split('\n')) {
    const match = /^(\w+) +(\S.*?) {2}\(((?:default|file|env|flag)\b.*)\)$/.exec(line)
    if (match) rows.set(match[1]!, { value: match[2]!, source: match[3]! })
  }
  return rows
}

const writeFile = (dir: string, name: string, text: string): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

interface WorkerAnswer {
  readonly id: string
  readonly generation: number
  readonly pid: number
}

const whoAnswers = async (port: number): Promise<WorkerAnswer> => {
  const answer = await get({ port })
  expect(answer.status).toBe(200)
  return JSON.parse(answer.body) as WorkerAnswer
}

/** Several requests at once, so they spread over the workers. */
const batch = (port: number, n = 6) => Promise.all(Array.from({ length: n }, () => whoAnswers(port)))

/** Leaves a socket file nobody listens on at `file`, as a crashed server would. */
const leaveStaleSocket = async (file: string): Promise<void> => {
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(file)}, () => console.log('listening'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  onTestFinished(() => {
    holder.kill('SIGKILL')
  })
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', () => resolve())
    holder.once('exit', (code) => reject(new Error(`the socket holder exited early (${code})`)))
  })
  const gone = new Promise((resolve) => holder.once('exit', resolve))
  holder.kill('SIGKILL')
  await gone
  expect(fs.lstatSync(file).isSocket()).toBe(true)
}

describe('troupe --version, --help, usage errors', () => {
  it('--version prints the package.json version', async () => {
    const exit = await run(['--version'], { cwd: tempDir() })
    expect(exit.code).toBe(0)
    expect(exit.stdout).toBe(`${version}\n`)
    expect(exit.stderr).toBe('')
  })

  it('--help prints the usage with its commands serve and check', async () => {
    const exit = await run(['--help'], { cwd: tempDir() })
    expect(exit.code).toBe(0)
    expect(exit.stdout).toMatch(/^Usage: troupe/)
    expect(exit.stdout).toMatch(/^ {2}serve \[APP]/m)
    expect(exit.stdout).toMatch(/^ {2}check \[APP]/m)
    expect(exit.stderr).toBe('')
  })

  it('an unknown flag exits 2 with one line on stderr naming it, and no stack trace', async () => {
    const exit = await run(['serve', '--frobnicate'], { cwd: tempDir() })
    expect(exit.code).toBe(2)
    expect(exit.stdout).toBe('')
    expect(exit.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(exit.stderr).toMatch(/^troupe: .*--frobnicate/)
    expect(exit.stderr).not.toMatch(/^\s+at /m)
  })
})

describe('troupe check', () => {
  it('prints every option with its value and source, reading ./troupe.config.ts', async () => {
    const dir = tempDir()
    const file = writeFile(
      dir,
      'troupe.config.ts',
      `export default { app: ${JSON.stringify(workerApp)}, workers: 3, keepAlive: 7 }\n`,
    )
    const exit = await run(['check'], { cwd: dir })
    expect(exit.stderr).toBe('')
    expect(exit.code).toBe(0)
    const rows = parseCheck(exit.stdout)
    for (const key of configKeys) expect(rows.get(key), `option ${key} in:\n${exit.stdout}`).toBeDefined()
    // Every option, plus the app actors the config registers (none here).
    expect(rows.size).toBe(configKeys.length + 1)
    expect(rows.get('actors')).toEqual({ value: '[]', source: 'default' })
    expect(rows.get('app')).toEqual({ value: JSON.stringify(workerApp), source: `file ${file}` })
    expect(rows.get('workers')).toEqual({ value: '3', source: `file ${file}` })
    expect(rows.get('keepAlive')).toEqual({ value: '7', source: `file ${file}` })
    expect(rows.get('bind')).toEqual({ value: '["127.0.0.1:8000"]', source: 'default' })
    expect(rows.get('placement')).toEqual({ value: '"thread"', source: 'default' })
    expect(rows.get('socketMode')).toEqual({ value: '0o660', source: 'default' })
    expect(exit.stdout).toContain('app worker-app: fetch style')
  })

  it('precedence: a flag beats the environment, which beats the file (defineConfig), which beats the default', async () => {
    const dir = tempDir()
    const file = writeFile(
      dir,
      'custom.config.ts',
      [
        `import { defineConfig } from ${JSON.stringify(pathToFileURL(configModule).href)}`,
        `export default defineConfig({ app: ${JSON.stringify(workerApp)}, workers: 3, bind: '127.0.0.1:9000', placement: 'process' })`,
        '',
      ].join('\n'),
    )
    const check = async (env: Record<string, string>, ...flags: string[]) => {
      const exit = await run(['check', '--config', file, ...flags], { cwd: dir, env })
      expect(exit.stderr).toBe('')
      expect(exit.code).toBe(0)
      return parseCheck(exit.stdout)
    }
    const [fromFile, troupeWorkers, webConcurrency, port, flags] = await Promise.all([
      check({}),
      check({ TROUPE_WORKERS: '4' }),
      check({ WEB_CONCURRENCY: '5' }),
      check({ PORT: '7000' }),
      check(
        { WEB_CONCURRENCY: '5', PORT: '7000', TROUPE_PLACEMENT: 'thread' },
        '--workers',
        '6',
        '--bind',
        '127.0.0.1:7100',
      ),
    ])
    expect(fromFile.get('workers')).toEqual({ value: '3', source: `file ${file}` })
    expect(fromFile.get('bind')).toEqual({ value: '["127.0.0.1:9000"]', source: `file ${file}` })
    expect(fromFile.get('placement')).toEqual({ value: '"process"', source: `file ${file}` })
    expect(fromFile.get('kind')).toEqual({ value: '"coroutine"', source: 'default' })

    expect(troupeWorkers.get('workers')).toEqual({ value: '4', source: 'env TROUPE_WORKERS' })
    expect(webConcurrency.get('workers')).toEqual({ value: '5', source: 'env WEB_CONCURRENCY' })
    expect(port.get('bind')).toEqual({ value: '["0.0.0.0:7000"]', source: 'env PORT' })
    expect(port.get('workers')).toEqual({ value: '3', source: `file ${file}` })

    expect(flags.get('workers')).toEqual({ value: '6', source: 'flag --workers' })
    expect(flags.get('bind')).toEqual({ value: '["127.0.0.1:7100"]', source: 'flag --bind' })
    expect(flags.get('placement')).toEqual({ value: '"thread"', source: 'env TROUPE_PLACEMENT' })
    expect(flags.get('kind')).toEqual({ value: '"coroutine"', source: 'default' })
  })

  it('a bad flag value: one line naming the option, the flag and what was expected; --debug adds the stack', async () => {
    const dir = tempDir()
    const exit = await run(['check', workerApp, '--workers', 'abc'], { cwd: dir })
    expectOneLineError(exit, 'TROUPE_E_CONFIG', 'workers', '"abc"', 'flag --workers', 'an integer >= 1')
    expect(exit.stdout).toBe('')

    const debug = await run(['check', workerApp, '--workers', 'abc', '--debug'], { cwd: dir })
    expect(debug.code).toBe(1)
    expect(debug.stderr.split('\n')[0]).toBe(exit.stderr.trimEnd())
    expect(debug.stderr).toMatch(/^\s+at .*config\.ts/m)
  })

  it('a bad value in the config file names the option, the file and what was expected', async () => {
    const dir = tempDir()
    const file = writeFile(dir, 'troupe.config.ts', `export default { placement: 'moon' }\n`)
    const exit = await run(['check', workerApp], { cwd: dir })
    expectOneLineError(
      exit,
      'TROUPE_E_CONFIG',
      'placement',
      '"moon"',
      `file ${file}`,
      'one of thread, process',
    )
  })

  it('an unknown key in the config file is refused, naming the key, the file and the known options', async () => {
    const dir = tempDir()
    const file = writeFile(dir, 'troupe.config.ts', `export default { wrokers: 2 }\n`)
    const exit = await run(['check', workerApp], { cwd: dir })
    expectOneLineError(exit, 'TROUPE_E_CONFIG', 'wrokers', file, 'not a troupe option', 'workers')
  })

  it('a bad environment value names the variable', async () => {
    const exit = await run(['check', workerApp], { cwd: tempDir(), env: { TROUPE_KIND: 'fibers' } })
    expectOneLineError(
      exit,
      'TROUPE_E_CONFIG',
      'kind',
      '"fibers"',
      'env TROUPE_KIND',
      'one of coroutine, thread-pool',
    )
  })
})

describe('troupe serve refuses bad input with one line and its code, and exits by itself', () => {
  it('a missing app file', async () => {
    const dir = tempDir()
    const missing = path.join(dir, 'no-such-app.ts')
    const exit = await run(['serve', missing, '--bind', '127.0.0.1:0'], { cwd: dir })
    expectOneLineError(exit, 'TROUPE_E_APP_LOAD', 'not found', missing)
  })

  it('an app module that throws at import', async () => {
    const exit = await run(['serve', fixture('throwing-app.ts'), '--bind', '127.0.0.1:0'], { cwd: tempDir() })
    expectOneLineError(
      exit,
      'TROUPE_E_APP_LOAD',
      'throwing-app.ts',
      'TROUPE_CLI_TEST_DATABASE_URL is not set',
    )
  })

  it('a port in use', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      blocker.close()
    })
    const { port } = blocker.address() as net.AddressInfo
    const exit = await run(['serve', workerApp, '--bind', `127.0.0.1:${port}`], { cwd: tempDir() })
    expectOneLineError(exit, 'TROUPE_E_LISTEN', `127.0.0.1:${port}`, 'address already in use')
  })

  it('a Unix socket in a missing directory', async () => {
    const dir = tempDir()
    const missing = path.join(dir, 'missing')
    const exit = await run(['serve', workerApp, '--bind', `unix:${missing}/app.sock`], { cwd: dir })
    expectOneLineError(exit, 'TROUPE_E_LISTEN', `${missing}/app.sock`, `${missing} does not exist`)
  })

  it('a Node-style (req, res) app under --kind thread-pool', async () => {
    const exit = await run(
      ['serve', fixture('node-app.ts'), '--kind', 'thread-pool', '--bind', '127.0.0.1:0'],
      {
        cwd: tempDir(),
      },
    )
    expectOneLineError(exit, 'TROUPE_E_APP_STYLE', 'nodeApp', 'Node-style', '--kind coroutine')
  })

  it('a bad value in the config file', async () => {
    const dir = tempDir()
    const file = writeFile(dir, 'troupe.config.ts', `export default { timeout: -1 }\n`)
    const exit = await run(['serve', workerApp, '--bind', '127.0.0.1:0'], { cwd: dir })
    expectOneLineError(exit, 'TROUPE_E_CONFIG', 'timeout', '-1', `file ${file}`, 'a number of seconds > 0')
  })
})

describe('troupe serve', () => {
  it('serves, scales on TTIN/TTOU, reloads on HUP, stops on TERM and removes its Unix socket', async () => {
    const dir = tempDir()
    const socket = path.join(dir, 's.sock')
    const troupe = start(
      ['serve', workerApp, '--bind', '127.0.0.1:0', '--bind', `unix:${socket}`, '--workers', '2'],
      { cwd: dir },
    )
    const { addresses, port } = await troupe.serving()
    expect(addresses).toEqual([`127.0.0.1:${port}`, `unix:${socket}`])
    expect(troupe.stderr).toContain(`serving ${workerApp} on`)
    expect(fs.statSync(socket).isSocket()).toBe(true)

    const first = await whoAnswers(port)
    expect(first.generation).toBe(1)

    troupe.signal('SIGTTIN')
    await troupe.waitForStderr(/^troupe: scaled to 3 workers$/m)
    const seen = new Set<string>()
    await eventually(
      async () => {
        for (const answer of await batch(port)) seen.add(answer.id)
        return seen.size >= 3
      },
      10_000,
      `answers from 3 distinct workers (seen ${[...seen].join(', ')})`,
    )
    expect(seen.size).toBe(3)

    troupe.signal('SIGTTOU')
    await troupe.waitForStderr(/^troupe: scaled to 2 workers$/m)
    const afterScaleDown = new Set<string>()
    for (let i = 0; i < 3; i++) for (const answer of await batch(port)) afterScaleDown.add(answer.id)
    expect(afterScaleDown.size).toBeLessThanOrEqual(2)

    troupe.signal('SIGHUP')
    await troupe.waitForStderr(/^troupe: reloaded: generation 2\b/m)
    const reloaded = await batch(port)
    expect(reloaded.map((answer) => answer.generation)).toEqual(reloaded.map(() => 2))
    for (const answer of reloaded) expect(seen.has(answer.id), `${answer.id} is a new worker`).toBe(false)

    troupe.signal('SIGTERM')
    const exit = await troupe.exitWithin(5_000)
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stderr).toContain('graceful stop')
    expect(fs.existsSync(socket)).toBe(false)
  })

  it('SIGQUIT stops at once, cutting a request in flight', async () => {
    const troupe = start(['serve', workerApp, '--bind', '127.0.0.1:0'], { cwd: tempDir() })
    const { port } = await troupe.serving()
    expect((await whoAnswers(port)).generation).toBe(1)
    const signals = handlerSignals()
    const slow = get({ port }, `/?sleep=20000&${signals.started}`, 20_000)
    slow.catch(() => {})
    await signals.waitStarted()
    troupe.signal('SIGQUIT')
    const exit = await troupe.exitWithin(3_000)
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stderr).toContain('fast stop')
    await expect(slow).rejects.toThrow()
  })

  it('--bind unix: replaces a stale socket file, applies TROUPE_SOCKET_MODE, removes the file on exit', async () => {
    const dir = tempDir()
    const socket = path.join(dir, 'app.sock')
    await leaveStaleSocket(socket)
    const troupe = start(['serve', workerApp, '--bind', `unix:${socket}`], {
      cwd: dir,
      env: { TROUPE_SOCKET_MODE: '600' },
    })
    const { addresses } = await troupe.serving()
    expect(addresses).toEqual([`unix:${socket}`])
    const stat = fs.statSync(socket)
    expect(stat.isSocket()).toBe(true)
    expect((stat.mode & 0o777).toString(8)).toBe('600')
    troupe.signal('SIGTERM')
    const exit = await troupe.exitWithin(5_000)
    expect(exit.code, exit.stderr).toBe(0)
    expect(fs.existsSync(socket)).toBe(false)
  })

  it.each(['thread', 'process'])(
    '--bind unix: answers HTTP over the socket (--placement %s), TCP still answers, TERM stops it',
    async (placement) => {
      const dir = tempDir()
      const socket = path.join(dir, 'app.sock')
      const troupe = start(
        ['serve', workerApp, '--bind', `unix:${socket}`, '--bind', '127.0.0.1:0', '--placement', placement],
        { cwd: dir },
      )
      const { port } = await troupe.serving()
      const failed = (error: Error) => ({ error: error.message })
      const overUnix = await get({ socketPath: socket }, '/', 3_000).catch(failed)
      expect.soft(overUnix, 'a request over the Unix socket').toMatchObject({ status: 200 })
      if ('body' in overUnix) expect.soft(JSON.parse(overUnix.body)).toMatchObject({ generation: 1 })
      // Whatever became of that request, the TCP listener keeps serving...
      const overTcp = await get({ port }, '/', 3_000).catch(failed)
      expect.soft(overTcp, 'a request over TCP after it').toMatchObject({ status: 200 })
      // ...and a graceful stop ends the process promptly.
      troupe.signal('SIGTERM')
      const exit = await troupe.exitWithin(5_000)
      expect(exit.code, exit.stderr).toBe(0)
      expect(fs.existsSync(socket)).toBe(false)
    },
  )
})
