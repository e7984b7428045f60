/** The master as a real process: what systemd or an operator sees from outside. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it, onTestFinished } from 'vitest'
import { eventually } from './support/manual-clock.ts'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

it('leaves no orphans: SIGKILL the master and its process actors are gone within 2 s', async () => {
  const master = spawn(process.execPath, [fixture('orphan-master.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  onTestFinished(() => {
    master.kill('SIGKILL')
  })
  let out = ''
  master.stdout.on('data', (chunk) => {
    out += chunk
  })
  const pids = await eventually(() => out.includes('\n') && (JSON.parse(out) as number[]), 15_000, 'the pids')
  expect(pids).toHaveLength(2)
  expect(pids.every(alive)).toBe(true)
  master.kill('SIGKILL')
  const killedAt = Date.now()
  await eventually(() => pids.every((pid) => !alive(pid)), 2_000, 'the children to exit')
  expect(Date.now() - killedAt).toBeLessThan(2_000)
})

it('exits non-zero when the root supervisor gives up', async () => {
  const master = spawn(process.execPath, [fixture('escalating-master.ts')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(() => {
    master.kill('SIGKILL')
  })
  let err = ''
  master.stderr.on('data', (chunk) => {
    err += chunk
  })
  const code = await new Promise<number | null>((resolve) => master.on('exit', (c) => resolve(c)))
  expect(code).toBe(1)
  expect(err).toContain('the root supervisor gave up')
  expect(err.trim().split('\n')).toHaveLength(1)
})
