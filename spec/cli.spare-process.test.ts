/**
 * `spareProcess` (process placement): a booted process waits beside the workers, a worker that
 * dies is replaced by it, and another spare follows; it goes with the master, however the
 * master ends; `--no-spare-process` keeps none.
 */
import { describe, expect, it } from 'vitest'
import { eventually } from './support/manual-clock.ts'
import { alive } from './support/pid-namespace.ts'
import { childPids, cliFixture, get, isSpare, start, tempDir, workerPids } from './support/troupe-cli.ts'

const workerApp = cliFixture('worker-app.ts')

const serveProcess = async (...flags: string[]) => {
  const troupe = start(
    ['serve', workerApp, '--bind', '127.0.0.1:0', '--placement', 'process', '--control', 'none', ...flags],
    { cwd: tempDir() },
  )
  const { port } = await troupe.serving()
  return { troupe, port }
}

const spareOf = (master: number): Promise<number> =>
  eventually(() => childPids(master).find(isSpare) ?? false, 10_000, 'a spare process')

describe('spare process', () => {
  it('a killed worker is replaced by the waiting spare, and a new spare follows; a graceful stop ends it', async () => {
    const { troupe, port } = await serveProcess()
    const spare = await spareOf(troupe.pid)
    const [worker] = workerPids(troupe.pid)
    expect(worker).toBeDefined()
    expect(worker).not.toBe(spare)

    process.kill(worker!, 'SIGKILL')
    // The spare became the worker: same pid, now titled as one.
    await eventually(() => workerPids(troupe.pid).join() === String(spare), 10_000, 'the spare taking over')
    await eventually(async () => (await get(port)).status === 200, 10_000, 'serving again')
    expect(troupe.stderr).toMatch(/worker w1 restarted/)
    const next = await spareOf(troupe.pid)
    expect(next).not.toBe(spare)

    troupe.signal('SIGTERM')
    const exit = await troupe.exitWithin()
    expect(exit.code, exit.stderr).toBe(0)
    expect(alive(next)).toBe(false)
    expect(alive(spare)).toBe(false)
  })

  it('a master killed outright takes its spare with it', async () => {
    const { troupe } = await serveProcess()
    const spare = await spareOf(troupe.pid)
    troupe.signal('SIGKILL')
    await troupe.exitWithin()
    await eventually(() => !alive(spare), 2_000, 'the spare to go with its master')
  })

  it('--no-spare-process keeps none', async () => {
    const { troupe, port } = await serveProcess('--no-spare-process', '--workers', '2')
    expect((await get(port)).status).toBe(200)
    // A spare would be forked a second after the workers started.
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    expect(childPids(troupe.pid).filter(isSpare)).toEqual([])
    expect(workerPids(troupe.pid)).toHaveLength(2)
    troupe.signal('SIGTERM')
    expect((await troupe.exitWithin()).code).toBe(0)
  })
})
