/**
 * What the operator reads: every worker exit with its reason and its replacement, every app
 * failure with the worker, the request and the stack — in every placement and kind, and not
 * silenced by NODE_NO_WARNINGS.
 */
import { describe, expect, it } from 'vitest'
import { eventually } from './support/manual-clock.ts'
import { fixturePath, serve } from './support/serve.ts'
import { get, start as startCli, tempDir } from './support/troupe-cli.ts'

const startLogged = (app: string, flags: Record<string, unknown>) => serve(app, flags)

describe.each(['thread', 'process'] as const)('worker exits are logged (%s placement)', (placement) => {
  it('a killed worker: its exit with the reason, then its replacement', async () => {
    const { server, lines } = await startLogged('lifecycle-app.ts', { placement })
    expect(lines).toContain(`worker w1 ready (generation 1, ${placement}, coroutine)`)
    server.kill('w1')
    await eventually(
      () => lines.includes(`worker w1 restarted (generation 1, ${placement}, coroutine, restart 1)`),
      15_000,
      `the restart line; so far:\n${lines.join('\n')}`,
    )
    const exit = lines.indexOf('worker w1 exited (killed by SIGKILL); its supervisor restarts it')
    expect(exit, lines.join('\n')).toBeGreaterThan(0)
    expect(exit).toBeLessThan(
      lines.indexOf(`worker w1 restarted (generation 1, ${placement}, coroutine, restart 1)`),
    )
  })

  it('a worker whose loop stops answering: killed for its missed heartbeats, and replaced', async () => {
    const { lines, port } = await startLogged('lifecycle-app.ts', { placement, timeout: 2 })
    get(port, '/spin?ms=6000', 15_000).catch(() => {})
    const line = await eventually(
      () =>
        lines.find((l) =>
          /^worker w1 exited \(no heartbeat for \d+ ms\); its supervisor restarts it$/.test(l),
        ),
      15_000,
      `the heartbeat exit line; so far:\n${lines.join('\n')}`,
    )
    expect(line).toBeDefined()
    await eventually(() => lines.some((l) => l.startsWith('worker w1 restarted')), 15_000, 'the replacement')
  })
})

describe.each([
  ['thread', 'coroutine'],
  ['process', 'coroutine'],
  ['thread', 'thread-pool'],
  ['process', 'thread-pool'],
] as const)('app failures are logged (%s placement, %s kind)', (placement, kind) => {
  it('a throwing handler: 500, and a log line with the worker, method, path and stack on stderr', async () => {
    const dir = tempDir()
    const troupe = startCli(
      [
        'serve',
        fixturePath('failing-app.ts'),
        '--bind',
        '127.0.0.1:0',
        '--placement',
        placement,
        '--kind',
        kind,
      ],
      { cwd: dir, env: { NODE_NO_WARNINGS: '1' } },
    )
    const { port } = await troupe.serving()
    expect(await get(port, '/boom?cart=7')).toEqual({ status: 500, body: 'Internal Server Error\n' })
    const logged = await troupe.waitForStderr(
      /^troupe: error: worker (w\d+) GET \/boom\?cart=7: Error: the checkout failed\n(?:\s+at .*\n)+/m,
    )
    expect(logged[1]).toBe('w1')
    expect(logged[0]).toMatch(/^\s+at checkout \(.*failing-app\.ts:\d+:\d+\)$/m)
    expect(troupe.running).toBe(true)
    expect((await troupe.stop()).code).toBe(0)
  })

  it('an app error that carries status 413 is the app failing: 500, not 413', async () => {
    const { base } = await serve('failing-app.ts', { placement, kind })
    const response = await fetch(`${base}/status-413`)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('Internal Server Error\n')
  })
})
