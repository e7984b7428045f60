/**
 * Signals Node would otherwise handle itself: USR1 (opens the inspector) and USR2 (ends the
 * process at once). Sent to a real `troupe serve`, USR2 is logged as ignored, with its code;
 * USR1 reopens the log files (spec/access-log.test.ts follows a rotation); the master keeps
 * serving either way.
 */
import { expect, it } from 'vitest'
import { cliFixture, get, start, tempDir } from './support/troupe-cli.ts'

it('USR2 is logged as ignored, USR1 reopens the logs; the master keeps serving; TERM still stops it', async () => {
  const troupe = start(['serve', cliFixture('worker-app.ts'), '--bind', '127.0.0.1:0'], { cwd: tempDir() })
  const { port } = await troupe.serving()
  troupe.child.kill('SIGUSR2')
  await troupe.waitForStderr(/^troupe: warning: SIGUSR2 ignored: .*\[TROUPE_W_SIGNAL_IGNORED\]$/m)
  expect(troupe.running).toBe(true)
  expect((await get(port)).status).toBe(200)
  troupe.child.kill('SIGUSR1')
  await troupe.waitForStderr(/^troupe: reopened log files \(1 workers\)$/m)
  expect(troupe.running).toBe(true)
  expect((await get(port)).status).toBe(200)
  expect(troupe.stderr).not.toMatch(/Debugger listening|SIGUSR1 ignored/)
  troupe.child.kill('SIGTERM')
  const exit = await troupe.exitWithin()
  expect(exit.code, exit.stderr).toBe(0)
})
