/**
 * The command line's options as a user meets them, on a real `troupe` process: per-command help
 * from the option table, one validation for check and serve, warnings, `PATH:EXPORT`,
 * `--chdir`, `--name` (ps titles and log lines) and `--pid`.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { configKeys, flagName } from '../runtime/master/config.ts'
import { eventually } from './support/manual-clock.ts'
import {
  childPids,
  cliFixture,
  type Exit,
  get,
  processTitle,
  run,
  start,
  tempDir,
  writeFile,
} from './support/troupe-cli.ts'

const workerApp = cliFixture('worker-app.ts')
const namedApp = cliFixture('named-app.ts')

const oneLine = (exit: Exit): string => {
  expect(exit.code, exit.stderr).toBe(1)
  const lines = exit.stderr.trimEnd().split('\n')
  expect(lines, exit.stderr).toHaveLength(1)
  return lines[0]!
}

describe('help', () => {
  it('serve --help and check --help print their command and every option; --help the commands', async () => {
    const cwd = tempDir()
    const [serve, check, global] = await Promise.all([
      run(['serve', '--help'], { cwd }),
      run(['check', '--help'], { cwd }),
      run(['--help'], { cwd }),
    ])
    for (const [exit, command] of [
      [serve, 'serve'],
      [check, 'check'],
    ] as const) {
      expect(exit.code).toBe(0)
      expect(exit.stderr).toBe('')
      expect(exit.stdout).toMatch(new RegExp(`^Usage: troupe ${command} \\[APP\\]`))
      // A switch on by default shows its way off: `--[no-]flag`.
      for (const key of configKeys)
        expect(exit.stdout).toMatch(new RegExp(`^ {2}--(\\[no-\\])?${flagName(key)}\\b`, 'm'))
      expect(exit.stdout).toMatch(/^ {2}--chdir DIR/m)
    }
    expect(serve.stdout).toContain('USR2 upgrade troupe itself')
    expect(serve.stdout).not.toBe(global.stdout)
    expect(global.stdout).toMatch(/^ {2}serve \[APP]/m)
    expect(global.stdout).not.toMatch(/--max-requests/)
  })
})

describe('a reader that leaves early (`troupe check | head -1`)', () => {
  it('ends the command quietly: exit 0, no EPIPE stack', async () => {
    const troupe = start(['check', workerApp], { cwd: tempDir() })
    // Gone before the first line is written: every write meets a closed pipe.
    troupe.child.stdout!.destroy()
    const exit = await troupe.exitWithin()
    expect(exit.stderr).not.toMatch(/EPIPE|Error/)
    expect(exit.code).toBe(0)
  })
})

describe('check and serve refuse the same values with the same line', () => {
  it.each([
    ['PORT=abc', { PORT: 'abc' }, [], 'bind must be a port number 0-65535 (got "abc" from env PORT)'],
    [
      '--bind 127.0.0.1',
      {},
      ['--bind', '127.0.0.1'],
      'bind must be HOST:PORT (port 0-65535), [V6]:PORT or unix:PATH, one or a list (got ["127.0.0.1"] from flag --bind)',
    ],
    [
      'TROUPE_BIND with port 99999',
      { TROUPE_BIND: '127.0.0.1:99999' },
      [],
      'bind must be HOST:PORT (port 0-65535), [V6]:PORT or unix:PATH, one or a list (got "127.0.0.1:99999" from env TROUPE_BIND)',
    ],
  ])('%s', async (_name, env, flags, message) => {
    const cwd = tempDir()
    const [check, serve] = await Promise.all([
      run(['check', workerApp, ...flags], { cwd, env }),
      run(['serve', workerApp, ...flags], { cwd, env }),
    ])
    expect(oneLine(check)).toBe(`troupe: ${message} [TROUPE_E_CONFIG]`)
    expect(oneLine(serve)).toBe(oneLine(check))
  })
})

describe('warnings', () => {
  it('check and serve warn, naming the source, about a renamed kind and a setting that does not apply', async () => {
    const cwd = tempDir()
    const check = await run(['check', workerApp, '--kind', 'threads', '--memory-soft', '64'], { cwd })
    expect(check.code, check.stderr).toBe(0)
    expect(check.stderr).toContain(
      'troupe: warning: kind "threads" (from flag --kind) is the old name of "thread-pool"; read as thread-pool [TROUPE_W_KIND_RENAMED]\n',
    )
    expect(check.stderr).toContain(
      'troupe: warning: memorySoft (from flag --memory-soft) has no effect with placement thread (from default); it applies to placement process [TROUPE_W_OPTION_NOT_APPLICABLE]\n',
    )
    expect(check.stdout).toMatch(/^kind +"thread-pool" {2}\(flag --kind\)$/m)

    const troupe = start(['serve', workerApp, '--bind', '127.0.0.1:0', '--threads', '2'], {
      cwd,
      env: { TROUPE_KIND: 'coroutine' },
    })
    const { port } = await troupe.serving()
    expect(troupe.stderr).toContain(
      'troupe: warning: threads (from flag --threads) has no effect with kind coroutine (from env TROUPE_KIND); it applies to kind thread-pool [TROUPE_W_OPTION_NOT_APPLICABLE]\n',
    )
    expect((await get(port)).status).toBe(200)
    troupe.child.kill('SIGTERM')
    expect((await troupe.exitWithin()).code).toBe(0)
  })
})

describe('PATH:EXPORT picks an export', () => {
  it.each([
    ['thread', 'coroutine'],
    ['process', 'thread-pool'],
  ])('serve app.ts:api: every worker (%s, %s) serves the export api', async (placement, kind) => {
    const troupe = start(
      [
        'serve',
        `${namedApp}:api`,
        '--bind',
        '127.0.0.1:0',
        '--placement',
        placement,
        '--kind',
        kind,
        '--threads',
        '1',
        '--workers',
        '2',
      ],
      { cwd: tempDir() },
    )
    const { port } = await troupe.serving()
    const seen = new Set<string>()
    await eventually(
      async () => {
        const answers = await Promise.all([get(port), get(port), get(port), get(port)])
        for (const answer of answers) {
          expect(answer.status).toBe(200)
          const body = JSON.parse(answer.body) as { app: string; id: string }
          expect(body.app).toBe('api')
          seen.add(body.id)
        }
        return seen.size === 2
      },
      10_000,
      'answers from both workers',
    )
    troupe.child.kill('SIGTERM')
    expect((await troupe.exitWithin()).code).toBe(0)
  })

  it('the config key app takes PATH:EXPORT too, relative to the config file; check names the export', async () => {
    const dir = tempDir()
    fs.copyFileSync(namedApp, path.join(dir, 'named-app.ts'))
    // The fixture imports a type only; a copy elsewhere loads the same.
    writeFile(dir, 'troupe.config.ts', `export default { app: './named-app.ts:api' }\n`)
    const exit = await run(['check'], { cwd: dir })
    expect(exit.stderr).toBe('')
    expect(exit.stdout).toMatch(
      new RegExp(
        `^app +${JSON.stringify(`${dir}/named-app.ts:api`)} {2}\\(file ${dir}/troupe.config.ts\\)$`,
        'm',
      ),
    )
    expect(exit.stdout).toContain('app api: fetch style')
  })

  it('a missing export, or one that is no app, is one TROUPE_E_APP_LOAD line naming it', async () => {
    const cwd = tempDir()
    const [missing, notApp] = await Promise.all([
      run(['serve', `${namedApp}:nope`, '--bind', '127.0.0.1:0'], { cwd }),
      run(['check', `${namedApp}:notAnApp`], { cwd }),
    ])
    expect(oneLine(missing)).toBe(
      `troupe: ${namedApp} has no export "nope" (it exports: api, notAnApp) [TROUPE_E_APP_LOAD]`,
    )
    const line = oneLine(notApp)
    expect(line).toContain('[TROUPE_E_APP_LOAD]')
    expect(line).toContain('an export "notAnApp" of type number')
  })
})

describe('--chdir, --name, --pid', () => {
  it('--chdir DIR reads DIR/troupe.config.ts and resolves relative paths from DIR', async () => {
    const dir = tempDir()
    const file = writeFile(
      dir,
      'troupe.config.ts',
      `export default { app: ${JSON.stringify(workerApp)}, workers: 2 }\n`,
    )
    const exit = await run(['check', '--chdir', dir, '--pid', 'run.pid'], { cwd: tempDir() })
    expect(exit.stderr).toBe('')
    expect(exit.stdout).toMatch(new RegExp(`^workers +2 {2}\\(file ${file}\\)$`, 'm'))
    expect(exit.stdout).toMatch(new RegExp(`^pid +"${dir}/run.pid" {2}\\(flag --pid\\)$`, 'm'))

    const missing = await run(['check', '--chdir', path.join(dir, 'nope')], { cwd: dir })
    expect(oneLine(missing)).toBe(
      `troupe: chdir: cannot change to ${path.join(dir, 'nope')} (from flag --chdir): ENOENT [TROUPE_E_CONFIG]`,
    )
  })

  it('--name titles the master and its process workers in ps and prefixes log lines; --pid FILE holds the pid until exit', async () => {
    const dir = tempDir()
    const pidFile = path.join(dir, 'shop.pid')
    const troupe = start(
      [
        'serve',
        workerApp,
        '--bind',
        '127.0.0.1:0',
        '--placement',
        'process',
        '--name',
        'shop',
        '--pid',
        'shop.pid',
      ],
      { cwd: dir },
    )
    const { port } = await troupe.serving()
    expect(troupe.stderr).toMatch(/^troupe shop: serving /m)
    expect((await get(port)).status).toBe(200)
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${troupe.pid}\n`)
    expect(processTitle(troupe.pid)).toBe('troupe: master shop')
    // The worker, and (a second after it started) the spare process waiting to replace it.
    // (A short-lived helper that copies the listening socket's descriptor may come and go.)
    const expected = ['troupe: spare shop', 'troupe: worker w1 shop']
    let titles: string[] = []
    await eventually(
      () => {
        try {
          titles = childPids(troupe.pid).map(processTitle).sort()
        } catch {
          // A child gone between the listing and the read of its title (the copier helper): look again.
          return false
        }
        return JSON.stringify(titles) === JSON.stringify(expected)
      },
      10_000,
      'a worker process and a spare',
    ).catch(() => expect(titles).toEqual(expected))

    troupe.child.kill('SIGTERM')
    const exit = await troupe.exitWithin()
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stderr).toMatch(/^troupe shop: graceful stop/m)
    expect(fs.existsSync(pidFile)).toBe(false)
  })

  it('--pid FILE naming a running process is refused', async () => {
    const dir = tempDir()
    const pidFile = writeFile(dir, 'taken.pid', `${process.pid}\n`)
    const exit = await run(['serve', workerApp, '--bind', '127.0.0.1:0', '--pid', pidFile], { cwd: dir })
    expect(oneLine(exit)).toContain(
      `pid: ${pidFile} holds pid ${process.pid}, which is running (from flag --pid)`,
    )
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${process.pid}\n`)
  })
})
