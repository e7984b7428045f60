/**
 * How real threads and processes die, and what the supervisor makes of it. Every case runs
 * a real worker thread or child process; nothing is simulated.
 */
import { describe, expect, it } from 'vitest'
import { counter, stubborn } from './fixtures/actors.ts'
import { eventually } from './support/manual-clock.ts'
import { nodeAt, testSystem } from './support/system.ts'

const remote = ['thread', 'process'] as const

describe.each(remote)('%s actor', (placement) => {
  it('exits with process.exit(3): exit reason crash with the code, restarted', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement, args: 1 })
    await expect(ref.ask('exit', 3)).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_EXITED' })
    expect(await ref.ask('get')).toBe(1)
    const node = nodeAt(system.tree(), ref.path)!
    expect(node.lastExit).toMatchObject({ kind: 'crash', exitCode: 3 })
    expect(node.restarts).toBe(1)
  })

  it('stuck in while(true): missed heartbeats get it terminated (reason timeout) while others keep serving', async () => {
    const system = await testSystem()
    const stuck = await system.spawn(counter, {
      id: 'stuck',
      placement,
      heartbeatInterval: 50,
      // Long enough for a start-up slowed by a loaded machine, which sends no heartbeat either.
      heartbeatTimeout: 2_000,
    })
    const healthy = await system.spawn(counter, { id: 'healthy', placement })
    const spun = stuck.ask('spin', undefined, { timeout: 10_000 })
    // Meanwhile the rest of the system answers.
    expect(await healthy.ask('add', 2)).toBe(2)
    await expect(spun).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_EXITED' })
    const node = await eventually(() => {
      const n = nodeAt(system.tree(), stuck.path)
      return n?.state === 'ready' && n.restarts === 1 ? n : undefined
    }, 20_000)
    expect(node.lastExit).toMatchObject({ kind: 'timeout' })
    const { silentMs } = node.lastExit as { silentMs: number }
    expect(silentMs).toBeGreaterThanOrEqual(2_000)
    expect(silentMs).toBeLessThan(8_000)
    expect(await stuck.ask('get')).toBe(0)
  })

  it('forced shutdown: an actor whose terminate hangs is killed after its shutdown timeout', async () => {
    const system = await testSystem()
    const exits: Array<{ path: string; reason: unknown }> = []
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel')
    const onExit = (event: unknown) => exits.push(event as (typeof exits)[number])
    subscribe('troupe:actor:exit', onExit)
    try {
      const ref = await system.spawn(stubborn, { placement, shutdownTimeout: 300 })
      expect(await ref.ask('ping')).toBe('pong')
      const began = Date.now()
      await system.stop()
      expect(Date.now() - began).toBeGreaterThanOrEqual(290)
      expect(Date.now() - began).toBeLessThan(5_000)
      expect(exits).toContainEqual({ path: ref.path, reason: { kind: 'shutdown', forced: true } })
    } finally {
      unsubscribe('troupe:actor:exit', onExit)
    }
  })
})

describe('thread actor over its resourceLimits', () => {
  it('ends with exit reason memory and is restarted', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, {
      placement: 'thread',
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    })
    await expect(ref.ask('hog', undefined, { timeout: 20_000 })).rejects.toMatchObject({
      code: 'TROUPE_E_ACTOR_EXITED',
    })
    const node = await eventually(() => {
      const n = nodeAt(system.tree(), ref.path)
      return n?.state === 'ready' ? n : undefined
    })
    expect(node.lastExit).toMatchObject({ kind: 'memory' })
    expect(node.restarts).toBe(1)
    expect(await ref.ask('add', 4)).toBe(4)
  })
})

describe('process actor killed with SIGKILL', () => {
  it('ends with exit reason killed(SIGKILL), is restarted in a new process', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement: 'process', args: 9 })
    const first = await ref.ask('whereami')
    process.kill(first.pid, 'SIGKILL')
    const node = await eventually(() => {
      const n = nodeAt(system.tree(), ref.path)
      return n?.state === 'ready' && n.restarts === 1 ? n : undefined
    })
    expect(node.lastExit).toEqual({ kind: 'killed', signal: 'SIGKILL' })
    const second = await ref.ask('whereami')
    expect(second.pid).not.toBe(first.pid)
    expect(await ref.ask('get')).toBe(9)
  })

  it('counts the tells in flight when it was killed as lost, and does not run them again', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement: 'process' })
    const { pid } = await ref.ask('whereami')
    // One tell holds the actor busy; three more wait behind it in the child. None reports back.
    ref.tell('slow', 60_000)
    for (const text of ['a', 'b', 'c']) ref.tell('note', text)
    await eventually(() => nodeAt(system.tree(), ref.path)?.mailbox === 4, 5_000, 'four tells in flight')
    process.kill(pid, 'SIGKILL')
    const node = await eventually(() => {
      const n = nodeAt(system.tree(), ref.path)
      return n?.state === 'ready' && n.restarts === 1 ? n : undefined
    })
    expect(node.lastExit).toEqual({ kind: 'killed', signal: 'SIGKILL' })
    expect(node.lost).toBe(4)
    expect(node.mailbox).toBe(0)
    expect(await ref.ask('notes')).toEqual([])
  })
})
