/**
 * The default runs on every supported Node: where thread handoff is missing (forced here with
 * the test-only TROUPE_TEST_NO_THREAD_HANDOFF=1), an unset placement becomes `process` and
 * the serving line says why; what the user asked for explicitly is refused with its code.
 * Also the README's reuseport claims: `unix:` refused, tcp_migrate_req = 0 warned about.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { typeStrippingMissing } from '../apps/app.ts'
import { threadHandoffSupported } from '../runtime/master/preflight.ts'
import { warningLine } from '../runtime/warnings.ts'
import { fixturePath, startTestServer } from './support/serve.ts'
import { get, run as runCli, start as startCli, tempDir } from './support/troupe-cli.ts'

const noHandoff = { TROUPE_TEST_NO_THREAD_HANDOFF: '1' }
const workerApp = fixturePath('cli/worker-app.ts')

describe('on a Node without thread handoff', () => {
  it('the capability check reads the version, and the test-only override', () => {
    expect(threadHandoffSupported('26.5.1', {})).toBe(false)
    expect(threadHandoffSupported('22.12.0', {})).toBe(false)
    expect(threadHandoffSupported('26.6.0', {})).toBe(true)
    expect(threadHandoffSupported('27.0.0', {})).toBe(true)
    expect(threadHandoffSupported('27.0.0', noHandoff)).toBe(false)
  })

  it('check judges the fitted config: a process-only setting is not flagged, and the switch is said', async () => {
    const exit = await runCli(['check', workerApp, '--memory-soft', '300'], {
      cwd: tempDir(),
      env: noHandoff,
    })
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stderr).not.toMatch(/TROUPE_W_OPTION_NOT_APPLICABLE/)
    expect(exit.stderr).toContain(
      `troupe: process placement: thread handoff needs Node >= 26.6, this is ${process.version}`,
    )
    expect(exit.stdout).toMatch(
      new RegExp(`^placement +"process" +\\(default, fitted to Node ${process.version}\\)$`, 'm'),
    )
  })

  it('serve with no placement chosen runs process workers, says so, and keeps them across HUP', async () => {
    const dir = tempDir()
    const troupe = startCli(['serve', workerApp, '--bind', '127.0.0.1:0'], { cwd: dir, env: noHandoff })
    const { port, line } = await troupe.serving()
    expect(line).toMatch(
      /— 1 process worker\(s\), coroutine, handoff \(pid \d+; process placement: thread handoff needs Node >= 26\.6, this is v[\d.]+\)$/,
    )
    const first = JSON.parse((await get(port)).body) as { pid: number; generation: number }
    expect(first.pid).not.toBe(troupe.child.pid)
    troupe.signal('SIGHUP')
    await troupe.waitForStderr(/^troupe: reloaded: generation 2, 1 workers$/m)
    const second = JSON.parse((await get(port)).body) as { pid: number; generation: number }
    expect(second.generation).toBe(2)
    expect(second.pid).not.toBe(troupe.child.pid)
    expect((await troupe.stop()).code).toBe(0)
  })

  it.runIf(process.platform === 'linux')(
    'thread placement asked for, strategy not: reuseport takes handoff’s place, and the line says so',
    async () => {
      const dir = tempDir()
      const troupe = startCli(['serve', workerApp, '--bind', '127.0.0.1:0', '--placement', 'thread'], {
        cwd: dir,
        env: noHandoff,
      })
      const { port, line } = await troupe.serving()
      expect(line).toMatch(
        /1 thread worker\(s\), coroutine, reuseport \(pid \d+; reuseport strategy: thread handoff needs Node >= 26\.6/,
      )
      expect(JSON.parse((await get(port)).body).pid).toBe(troupe.child.pid)
      expect((await troupe.stop()).code).toBe(0)
    },
  )

  it('handoff with thread placement, both asked for, is refused at start-up in one coded line', async () => {
    const exit = await runCli(
      ['serve', workerApp, '--bind', '127.0.0.1:0', '--placement', 'thread', '--strategy', 'handoff'],
      { cwd: tempDir(), env: noHandoff },
    )
    expect(exit.code).toBe(1)
    expect(exit.stderr.trimEnd().split('\n')).toEqual([
      `troupe: --strategy handoff with --placement thread needs Node >= 26.6 (this is ${process.version}); use --placement process, or --strategy reuseport [TROUPE_E_PLACEMENT_UNSUPPORTED]`,
    ])
  })

  it('a Unix socket with thread placement asked for cannot fall back to reuseport: refused', async () => {
    const dir = tempDir()
    const exit = await runCli(
      ['serve', workerApp, '--bind', `unix:${path.join(dir, 's.sock')}`, '--placement', 'thread'],
      { cwd: dir, env: noHandoff },
    )
    expect(exit.code).toBe(1)
    expect(exit.stderr).toContain('[TROUPE_E_PLACEMENT_UNSUPPORTED]')
  })
})

describe('TypeScript on a Node without type stripping', () => {
  it('names the file, this Node and the version needed; JavaScript and stripping Nodes pass', () => {
    const old = { version: 'v22.12.0', typescript: false }
    expect(typeStrippingMissing('file:///srv/app.ts', old)).toBe(
      '/srv/app.ts is TypeScript, which this Node (v22.12.0) cannot run: type stripping needs Node >= 22.18 (on by default); use a newer Node, or compile it to .js',
    )
    expect(
      typeStrippingMissing('/srv/troupe.config.mts', { version: 'v20.19.0', typescript: undefined }),
    ).toMatch(/^\/srv\/troupe\.config\.mts is TypeScript, which this Node \(v20\.19\.0\) cannot run/)
    expect(typeStrippingMissing('file:///srv/app.ts?load=3', old)).toMatch(/^\/srv\/app\.ts is TypeScript/)
    expect(typeStrippingMissing('file:///srv/app.mjs', old)).toBeUndefined()
    expect(
      typeStrippingMissing('file:///srv/app.ts', { version: 'v26.10.0', typescript: 'strip' }),
    ).toBeUndefined()
  })
})

describe.runIf(process.platform === 'linux')('reuseport claims of the README', () => {
  const start = (flags: Record<string, unknown>) =>
    startTestServer({ strategy: 'reuseport', ...flags, app: workerApp })

  it('refuses a unix: bind at start-up, naming the socket and the alternative', async () => {
    const socket = path.join(tempDir(), 's.sock')
    await expect(start({ bind: [`unix:${socket}`] })).rejects.toMatchObject({
      code: 'TROUPE_E_PLACEMENT_UNSUPPORTED',
      message: `--strategy reuseport cannot share unix:${socket} (SO_REUSEPORT is for TCP); use --strategy handoff for Unix sockets`,
    })
  })

  it('warns about net.ipv4.tcp_migrate_req exactly when it does not read 1', async () => {
    let sysctl: string | undefined
    try {
      sysctl = fs.readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim()
    } catch {
      sysctl = undefined // a kernel before 5.14: no migration at all
    }
    const { server, lines } = await start({})
    const warned = lines.includes(warningLine('TROUPE_W_MIGRATE_REQ'))
    expect(warned, `tcp_migrate_req reads ${sysctl}; lines:\n${lines.join('\n')}`).toBe(sysctl !== '1')
    const port = Number(server.addresses[0]!.split(':').pop())
    expect((await get(port)).status).toBe(200)
  })
})
