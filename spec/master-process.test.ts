/** The master as a real process: what systemd or an operator sees from outside. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it, onTestFinished } from 'vitest'
import { eventually } from './support/manual-clock.ts'
import { alive } from './support/pid-namespace.ts'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

it('leaves no orphans: SIGKILL the master and its process actors exit by themselves', async () => {
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
  // They notice the IPC channel closing; the bound is generous, as a loaded CI machine needs
  // (how fast they go is not a claim this test makes).
  await eventually(() => pids.every((pid) => !alive(pid)), 10_000, 'the children to exit')
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
