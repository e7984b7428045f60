/**
 * The master's and the workers' log as an operator's tools read it, from a real `troupe`:
 * JSON records on a pipe (the default), readable lines on a terminal, and --log-level.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import { startServer } from '../runtime/master/master.ts'
import { eventually } from './support/manual-clock.ts'
import { fixturePath } from './support/serve.ts'
import { cleanEnv, cliPath, get, run, start, tempDir } from './support/troupe-cli.ts'

interface LogRecord {
  readonly time: string
  readonly level: string
  readonly pid: number
  readonly name?: string
  readonly worker?: string
  readonly event: string
  readonly code?: string
  readonly msg: string
}

/** Every stderr line as a record; a line that is not JSON fails the test. */
const records = (stderr: string): LogRecord[] =>
  stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogRecord)

it('on a pipe the default is one JSON record a line: time, level, pid, name, worker, event, msg — the workers’ too', async () => {
  const troupe = start(
    [
      'serve',
      fixturePath('failing-app.ts'),
      '--bind',
      '127.0.0.1:0',
      '--workers',
      '2',
      '--name',
      'shop',
      '--log-level',
      'debug',
      // A warning at start-up: memorySoft has no effect with thread workers.
      '--memory-soft',
      '64',
    ],
    { cwd: tempDir(), env: { TROUPE_LOG_FORMAT: undefined } },
  )
  const serving = await eventually(
    () => {
      if (!troupe.running) throw new Error(`troupe exited; stderr:\n${troupe.stderr}`)
      return records(troupe.stderr.slice(0, troupe.stderr.lastIndexOf('\n') + 1)).find(
        (r) => r.event === 'serving',
      )
    },
    15_000,
    'the serving record',
  )
  const port = Number(/ on 127\.0\.0\.1:(\d+) /.exec(serving.msg)![1])
  expect((await get(port, '/boom')).status).toBe(500)
  await troupe.waitForStderr(/"event":"request\.error"/)
  const exit = await troupe.stop()
  expect(exit.code, exit.stderr).toBe(0)

  const all = records(exit.stderr)
  for (const record of all) {
    expect(new Date(record.time).toISOString()).toBe(record.time)
    expect(['debug', 'info', 'warn', 'error']).toContain(record.level)
    expect(record.event).toMatch(/^[a-z]+(?:\.[a-z]+)*$/)
    expect(record.name).toBe('shop')
  }
  const ready = all.filter((r) => r.event === 'worker.ready')
  expect(ready.map((r) => r.worker).sort()).toEqual(['w1', 'w2'])
  for (const r of ready) {
    expect(r).toMatchObject({ level: 'info', pid: troupe.pid })
    expect(r.msg).toBe(`worker ${r.worker} ready (generation 1, thread, coroutine)`)
  }
  expect(serving).toMatchObject({ level: 'info', pid: troupe.pid })
  expect(all).toContainEqual(expect.objectContaining({ level: 'debug', event: 'listen' }))
  expect(all).toContainEqual(
    expect.objectContaining({ level: 'warn', event: 'warning', code: 'TROUPE_W_OPTION_NOT_APPLICABLE' }),
  )
  // The worker's own record: same shape, written by the worker (its thread shares the pid).
  const failure = all.find((r) => r.event === 'request.error')!
  expect(failure).toMatchObject({ level: 'error', pid: troupe.pid, name: 'shop' })
  expect(failure.worker).toMatch(/^w[12]$/)
  expect(failure.msg).toMatch(/^error: worker w[12] GET \/boom: Error: the checkout failed\n\s+at checkout/)
  expect(
    all
      .filter((r) => r.event === 'worker.stop')
      .map((r) => r.worker)
      .sort(),
  ).toEqual(['w1', 'w2'])
})

it('a worker process writes its own records too, with its own pid', async () => {
  const troupe = start(
    ['serve', fixturePath('failing-app.ts'), '--bind', '127.0.0.1:0', '--placement', 'process'],
    { cwd: tempDir(), env: { TROUPE_LOG_FORMAT: 'json' } },
  )
  await troupe.waitForStderr(/"event":"serving"/, 15_000)
  const port = Number(/ on 127\.0\.0\.1:(\d+) /.exec(troupe.stderr)![1])
  expect((await get(port, '/boom')).status).toBe(500)
  await troupe.waitForStderr(/"event":"request\.error"/)
  const exit = await troupe.stop()
  const failure = records(exit.stderr).find((r) => r.event === 'request.error')!
  expect(failure).toMatchObject({ level: 'error', worker: 'w1' })
  expect(failure.pid).not.toBe(troupe.pid)
})

it('--log-level warn: no info lines, warnings still written', async () => {
  const dir = tempDir()
  const socket = path.join(dir, 's.sock')
  const troupe = start(
    [
      'serve',
      fixturePath('failing-app.ts'),
      '--bind',
      `unix:${socket}`,
      '--log-level',
      'warn',
      '--memory-soft',
      '64',
    ],
    { cwd: dir },
  )
  // No serving line to wait for: the socket answering is the sign.
  await eventually(
    () =>
      get({ socketPath: socket }).then(
        (a) => a.status === 200,
        () => false,
      ),
    15_000,
    'the server answering',
  )
  await troupe.waitForStderr(/^troupe: warning: .*\[TROUPE_W_OPTION_NOT_APPLICABLE\]$/m)
  const exit = await troupe.stop()
  expect(exit.code, exit.stderr).toBe(0)
  expect(exit.stderr).not.toMatch(/serving|ready|graceful stop|stopped/)
})

it('auto: readable lines when stderr is a terminal, JSON records when it is a pipe', async () => {
  const dir = tempDir()
  // A warning `check` gives: memorySoft has no effect with thread workers.
  const args = ['check', fixturePath('failing-app.ts'), '--memory-soft', '64']
  const env = cleanEnv({ TROUPE_LOG_FORMAT: undefined })
  // On a pipe.
  const piped = await run(args, { cwd: dir, env: { TROUPE_LOG_FORMAT: undefined } })
  expect(piped.code, piped.stderr).toBe(0)
  expect(records(piped.stderr)).toEqual([
    expect.objectContaining({ level: 'warn', event: 'warning', code: 'TROUPE_W_OPTION_NOT_APPLICABLE' }),
  ])
  // On a terminal: script(1) runs it on a pseudo-terminal, stderr included.
  const command = [process.execPath, cliPath, ...args].map((a) => `'${a}'`).join(' ')
  const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
    cwd: dir,
    env,
    timeout: 15_000,
  })
  expect(stdout).toMatch(
    /^troupe: warning: memorySoft \(from flag --memory-soft\) has no effect .*\[TROUPE_W_OPTION_NOT_APPLICABLE\]\r?$/m,
  )
  expect(stdout).not.toContain('"event"')
})

it('startServer hands every entry to a pino logger of the caller: its fields and the line', async () => {
  const written: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => written.push(line) })
  const { config } = resolveConfig({
    flags: { app: fixturePath('failing-app.ts'), bind: ['127.0.0.1:0'], workers: 1 },
  })
  const server = await startServer(config, { logger })
  onTestFinished(() => server.stop({ graceful: false }))
  await server.scale(2)
  await server.stop()
  const seen = written.map((line) => JSON.parse(line) as Omit<LogRecord, 'level'> & { level: number })
  // pino's own record: numeric levels (30 info, 20 debug), its own time; troupe's fields and line.
  expect(seen).toContainEqual(
    expect.objectContaining({
      level: 30,
      event: 'worker.ready',
      worker: 'w1',
      msg: 'worker w1 ready (generation 1, thread, coroutine)',
    }),
  )
  expect(seen).toContainEqual(expect.objectContaining({ level: 20, event: 'listen' }))
  expect(seen).toContainEqual(
    expect.objectContaining({ level: 30, event: 'scale', from: 1, msg: 'scaled to 2 workers' }),
  )
  expect(
    seen
      .filter((r) => r.event === 'worker.stop')
      .map((r) => r.worker)
      .sort(),
  ).toEqual(['w1', 'w2'])
})

it('setLogLevel changes the level of the running master’s logger, text and json', async () => {
  const logModule = new URL('../runtime/master/log.ts', import.meta.url).href
  for (const format of ['text', 'json'] as const) {
    const script = [
      `import { createMasterLogger, setLogLevel } from ${JSON.stringify(logModule)}`,
      `const log = await createMasterLogger({ format: '${format}', level: 'info', name: 'shop' })`,
      "log.debug({ event: 't' }, 'one')",
      "setLogLevel('debug')",
      "log.debug({ event: 't' }, 'two')",
      "setLogLevel('error')",
      "log.warn({ event: 't' }, 'three')",
      "log.error({ event: 't' }, 'four')",
    ].join('\n')
    const { stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: cleanEnv({}),
    })
    const said = stderr.split('\n').filter(Boolean)
    if (format === 'text') expect(said).toEqual(['troupe shop: two', 'troupe shop: four'])
    else
      expect(records(stderr).map((r) => [r.level, r.msg, r.name])).toEqual([
        ['debug', 'two', 'shop'],
        ['error', 'four', 'shop'],
      ])
  }
})
