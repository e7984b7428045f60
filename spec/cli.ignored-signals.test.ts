/**
 * Signals Node would otherwise handle itself: USR1 (opens the inspector) and USR2 (ends the
 * process at once). Sent to a real `troupe serve`, each is logged as ignored, with its code,
 * and the master keeps serving.
 */
import { expect, it } from 'vitest'
import { cliFixture, get, start, tempDir } from './support/troupe-cli.ts'

it('USR1 and USR2 are logged as ignored and the master keeps serving; TERM still stops it', async () => {
  const troupe = start(['serve', cliFixture('worker-app.ts'), '--bind', '127.0.0.1:0'], { cwd: tempDir() })
  const { port } = await troupe.serving()
  for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) {
    troupe.child.kill(signal)
    await troupe.waitForStderr(
      new RegExp(`^troupe: warning: ${signal} ignored: .*\\[TROUPE_W_SIGNAL_IGNORED\\]$`, 'm'),
    )
    expect(troupe.running).toBe(true)
    expect((await get(port)).status).toBe(200)
  }
  expect(troupe.stderr).not.toMatch(/Debugger listening/)
  troupe.child.kill('SIGTERM')
  const exit = await troupe.exitWithin()
  expect(exit.code, exit.stderr).toBe(0)
})
