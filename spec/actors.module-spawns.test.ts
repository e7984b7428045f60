/**
 * An actor defined in the file that spawns it: the thread or process that hosts the actor
 * imports that file and would spawn again, without end. troupe refuses with a coded error
 * that says what to do. Runs the fixture as its own Node process, as a user would.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it, onTestFinished } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/self-spawning.ts', import.meta.url))

it.each(['thread', 'process'])(
  '%s placement: the spawn is refused with TROUPE_E_ACTOR_MODULE_SPAWNS, once',
  async (placement) => {
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, TROUPE_FIXTURE_PLACEMENT: placement },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    expect(err).toBe('')
    expect(code).toBe(0)
    const lines = out.trim().split('\n')
    // One answer: the spawn in the child was refused, not repeated.
    expect(lines).toHaveLength(1)
    const result = JSON.parse(lines[0]!) as { code?: string; message: string }
    expect(result.code).toBe('TROUPE_E_ACTOR_MODULE_SPAWNS')
    expect(result.message).toContain('self-spawning.ts')
    expect(result.message).toContain('Move the actor definition to its own module')
  },
  30_000,
)
