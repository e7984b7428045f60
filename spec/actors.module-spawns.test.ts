/**
 * An actor defined in the file that spawns it: the thread or process that hosts the actor
 * imports that file and would spawn again, without end. troupe refuses with a coded error
 * that says what to do. Runs the fixture as its own Node process, as a user would.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it, onTestFinished } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/self-spawning.ts', import.meta.url))
const later = fileURLToPath(new URL('./fixtures/self-spawning-later.ts', import.meta.url))

/** Runs a fixture as its own Node process; its exit code, stderr and stdout lines. */
const runFixture = async (file: string, placement: string) => {
  const child = spawn(process.execPath, [file], {
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
  return {
    code,
    err,
    lines: out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

it.each(['thread', 'process'])(
  '%s placement: the spawn is refused with TROUPE_E_ACTOR_MODULE_SPAWNS, once',
  async (placement) => {
    const { code, err, lines } = await runFixture(fixture, placement)
    expect(err).toBe('')
    expect(code).toBe(0)
    // One answer: the spawn in the child was refused, not repeated.
    expect(lines).toHaveLength(1)
    const result = lines[0] as { code?: string; message: string }
    expect(result.code).toBe('TROUPE_E_ACTOR_MODULE_SPAWNS')
    expect(result.message).toContain('self-spawning.ts')
    expect(result.message).toContain('Move the actor definition to its own module')
  },
  30_000,
)

it.each(['thread', 'process'])(
  '%s placement: a spawn the module makes after it loaded is refused in the host too: two answers, not more',
  async (placement) => {
    const { code, err, lines } = await runFixture(later, placement)
    expect(err).toBe('')
    expect(code).toBe(0)
    // The main thread's spawn works; the hosted copy's spawn is refused, so nothing spawns again.
    expect(lines).toHaveLength(2)
    expect(lines).toContainEqual({ spawned: 'pong' })
    const refused = lines.find((line) => line.code !== undefined)
    expect(refused?.code).toBe('TROUPE_E_ACTOR_MODULE_SPAWNS')
    expect(refused?.message).toContain('self-spawning-later.ts')
  },
  30_000,
)
