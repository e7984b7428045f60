/**
 * Supervision semantics, counted on an injected clock: strategies, restart types,
 * intensity and escalation, backoff with reset, shutdown order, pools.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { actor, supervisor } from '../runtime/index.ts'
import { brokenInit, counter, flakyInit, stubborn } from './fixtures/actors.ts'
import { eventually, ManualClock, settle } from './support/manual-clock.ts'
import { nodeAt, testSystem } from './support/system.ts'

const subscriptions: Array<[string, (m: unknown) => void]> = []
const record = (name: string): unknown[] => {
  const seen: unknown[] = []
  const fn = (message: unknown) => seen.push(message)
  subscribe(name, fn)
  subscriptions.push([name, fn])
  return seen
}
afterEach(() => {
  for (const [name, fn] of subscriptions.splice(0)) unsubscribe(name, fn)
})

/** The lifecycle events of `path` on the `troupe:actor:NAME` channels, in order: `exit shutdown`, `spawn`… */
const recordInOrder = (names: readonly string[], path: string): string[] => {
  const seen: string[] = []
  for (const name of names) {
    const fn = (message: unknown) => {
      const e = message as { path: string; reason?: { kind: string } }
      if (e.path === path) seen.push(e.reason ? `${name} ${e.reason.kind}` : name)
    }
    subscribe(`troupe:actor:${name}`, fn)
    subscriptions.push([`troupe:actor:${name}`, fn])
  }
  return seen
}

const noJitter = { min: 100, max: 1_000, factor: 2, jitter: 0, resetAfter: 5_000 }

/** Crash a local child and let the supervisor react; returns after the restart ran. */
const crash = async (clock: ManualClock, ref: { ask(type: 'boom', p: string): Promise<unknown> }) => {
  await ref.ask('boom', 'crash').catch(() => {})
  await settle()
  clock.advance(1_000)
  await settle()
}

describe('restart strategies', () => {
  const start = async (strategy: 'one_for_one' | 'one_for_all' | 'rest_for_one') => {
    const clock = new ManualClock()
    const system = await testSystem({ clock })
    await system.start(
      supervisor({
        id: 'sup',
        strategy,
        backoff: noJitter,
        children: ['a', 'b', 'c'].map((id) => actor(counter, { id, args: 0 })),
      }),
    )
    const refs = ['a', 'b', 'c'].map((id) => system.ref(counter, `/troupe/sup/${id}`))
    for (const ref of refs) await ref.ask('add', 10)
    return { system, clock, refs }
  }
  const values = (refs: Array<{ ask(t: 'get'): Promise<number> }>) =>
    Promise.all(refs.map((r) => r.ask('get')))

  it('one_for_one restarts only the child that crashed', async () => {
    const { clock, refs } = await start('one_for_one')
    await crash(clock, refs[1]!)
    expect(await values(refs)).toEqual([10, 0, 10])
  })

  it('one_for_all restarts every child', async () => {
    const { clock, refs, system } = await start('one_for_all')
    await crash(clock, refs[1]!)
    expect(await values(refs)).toEqual([0, 0, 0])
    expect(nodeAt(system.tree(), '/troupe/sup/a')!.restarts).toBe(1)
  })

  it('rest_for_one restarts the child and those started after it', async () => {
    const { clock, refs } = await start('rest_for_one')
    await crash(clock, refs[1]!)
    expect(await values(refs)).toEqual([10, 0, 0])
  })
})

describe('a crash while a group restart is still stopping its members', () => {
  it('is handled after it, not lost (rest_for_one: an earlier child crashing meanwhile)', async () => {
    const clock = new ManualClock()
    const system = await testSystem({ clock })
    await system.start(
      supervisor({
        id: 'sup',
        strategy: 'rest_for_one',
        intensity: 10,
        backoff: noJitter,
        children: [
          actor(counter, { id: 'a' }),
          actor(counter, { id: 'b' }),
          // Its terminate never returns: the group restart waits for its shutdown timeout.
          actor(stubborn, { id: 'c', shutdownTimeout: 5_000 }),
        ],
      }),
    )
    const a = system.ref(counter, '/troupe/sup/a')
    const b = system.ref(counter, '/troupe/sup/b')
    await a.ask('add', 10)
    await b.ask('boom', 'first').catch(() => {})
    await settle()
    // The group [b, c] is stopping (c hangs); now a, outside that group, crashes too.
    await a.ask('boom', 'second').catch(() => {})
    await settle()
    clock.advance(5_000) // c is forced
    await settle(20)
    clock.advance(5_000) // the restarts' backoff
    await settle(20)
    clock.advance(5_000)
    await settle(20)
    expect(await a.ask('get')).toBe(0)
    expect(nodeAt(system.tree(), '/troupe/sup/a')).toMatchObject({ state: 'ready' })
    expect(nodeAt(system.tree(), '/troupe/sup/a')!.restarts).toBeGreaterThanOrEqual(1)
    // c hangs in terminate again: its forced stop runs on this test's clock.
    const stopped = system.stop()
    for (let i = 0; i < 5; i++) {
      await settle()
      clock.advance(5_000)
    }
    await stopped
  })
})

describe('restart types', () => {
  it.each([
    ['permanent', 'crash', true],
    ['permanent', 'normal', true],
    ['transient', 'crash', true],
    ['transient', 'normal', false],
    ['temporary', 'crash', false],
    ['temporary', 'normal', false],
  ] as const)('%s child after a %s exit: restarted = %s', async (restart, how, restarted) => {
    const clock = new ManualClock()
    const system = await testSystem({ clock })
    const ref = await system.spawn(counter, { restart, args: 1 })
    if (how === 'crash') await ref.ask('boom', 'x').catch(() => {})
    else await ref.ask('stopSelf')
    await settle()
    clock.advance(1_000)
    await settle()
    const node = nodeAt(system.tree(), ref.path)
    if (restarted) {
      expect(node).toMatchObject({ state: 'ready', restarts: 1 })
      expect(await ref.ask('get')).toBe(1)
    } else {
      // OTP deletes only a temporary child's spec; a transient one stays, stopped.
      if (restart === 'temporary') expect(node).toBeUndefined()
      else expect(node).toMatchObject({ state: 'stopped', restarts: 0 })
      await expect(ref.ask('get')).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_STOPPED' })
    }
  })
})

describe('every accepted message is accounted for', () => {
  it("a temporary child's spec is deleted when it exits; the tells it never handled stay counted on its supervisor", async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { restart: 'temporary' })
    const bye = ref.ask('stopSelf')
    ref.tell('note', 'a')
    ref.tell('note', 'b')
    const late = ref.ask('get')
    expect(await bye).toBe('bye')
    await expect(late).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_STOPPED' })
    await settle()
    expect(nodeAt(system.tree(), ref.path)).toBeUndefined()
    expect(system.tree().lost).toBe(2)
  })

  it('a supervisor stop refuses what waits (asks) and counts it (tells); the supervisor publishes its own exit', async () => {
    const exits = record('troupe:actor:exit') as Array<{ path: string; reason: unknown }>
    const system = await testSystem()
    await system.start(supervisor({ id: 'sup', children: [actor(counter, { id: 'a' })] }))
    const a = system.ref(counter, '/troupe/sup/a')
    const slow = a.ask('slow', 50)
    a.tell('note', 'queued')
    const queued = a.ask('get')
    const stopped = system.stop()
    expect(await slow).toBe(50)
    await expect(queued).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_STOPPED' })
    await stopped
    expect(nodeAt(system.tree(), '/troupe/sup/a')).toMatchObject({ state: 'stopped', lost: 1 })
    expect(exits.map((e) => e.path)).toEqual(['/troupe/sup/a', '/troupe/sup', '/troupe'])
    expect(exits.at(-1)!.reason).toEqual({ kind: 'shutdown', forced: false })
  })
})

describe('backoff', () => {
  it('doubles the delay per consecutive restart up to max, and starts over after a stable uptime', async () => {
    const clock = new ManualClock()
    const restarts = record('troupe:actor:restart') as Array<{ delayMs: number; attempt: number }>
    const system = await testSystem({ clock, intensity: 100, period: 1_000_000, backoff: noJitter })
    const ref = await system.spawn(counter)
    for (let i = 0; i < 6; i++) await crash(clock, ref)
    expect(restarts.map((r) => r.delayMs)).toEqual([100, 200, 400, 800, 1_000, 1_000])
    clock.advance(5_000) // stable for resetAfter
    await crash(clock, ref)
    expect(restarts.at(-1)).toMatchObject({ delayMs: 100, attempt: 1 })
  })

  it('spreads delays with jitter within ±jitter of the base', async () => {
    const clock = new ManualClock()
    const restarts = record('troupe:actor:restart') as Array<{ delayMs: number }>
    const system = await testSystem({ clock, backoff: { ...noJitter, jitter: 0.5 } })
    const ref = await system.spawn(counter)
    clock.randomValue = 0
    await crash(clock, ref)
    clock.randomValue = 0.999
    await crash(clock, ref)
    expect(restarts.map((r) => r.delayMs)).toEqual([50, 300])
  })
})

describe('intensity and escalation', () => {
  it('past intensity within the period, a supervisor stops its children and escalates; the parent restarts it', async () => {
    const clock = new ManualClock()
    const escalations = record('troupe:supervisor:escalate')
    const system = await testSystem({ clock, backoff: noJitter })
    await system.start(
      supervisor({
        id: 'inner',
        intensity: 2,
        period: 10_000,
        backoff: noJitter,
        children: [actor(counter, { id: 'flaky' }), actor(counter, { id: 'steady', args: 5 })],
      }),
    )
    const flaky = system.ref(counter, '/troupe/inner/flaky')
    const steady = system.ref(counter, '/troupe/inner/steady')
    await steady.ask('add', 1)
    await crash(clock, flaky)
    await crash(clock, flaky)
    expect(escalations).toHaveLength(0)
    await crash(clock, flaky) // the third within the period: one too many
    await settle(20)
    clock.advance(1_000)
    await settle(20)
    expect(escalations).toEqual([{ path: '/troupe/inner', restarts: 2, periodMs: 10_000 }])
    const inner = nodeAt(system.tree(), '/troupe/inner')!
    expect(inner).toMatchObject({ state: 'ready', restarts: 1 })
    expect(await steady.ask('get')).toBe(5) // restarted with its supervisor: fresh state
    expect(system.failures).toEqual([])
  })

  it('with stableAfter, a child that ran that long is restarted at once and does not count toward intensity', async () => {
    const clock = new ManualClock()
    const escalations = record('troupe:supervisor:escalate')
    const restarts = record('troupe:actor:restart') as Array<{ delayMs: number }>
    const system = await testSystem({ clock, backoff: noJitter })
    await system.start(
      supervisor({
        id: 'pool',
        intensity: 2,
        period: 10_000,
        backoff: noJitter,
        stableAfter: 1_000,
        children: [actor(counter, { id: 'served' })],
      }),
    )
    const served = system.ref(counter, '/troupe/pool/served')
    // Five deaths within the period, each after a second of service: no crash loop.
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000)
      await crash(clock, served)
    }
    expect(restarts.map((r) => r.delayMs)).toEqual([0, 0, 0, 0, 0])
    expect(escalations).toHaveLength(0)
    // Dying young still backs off, and counts: the third within the period escalates.
    const crashYoung = async (delayMs: number) => {
      await served.ask('boom', 'crash').catch(() => {})
      await settle()
      clock.advance(delayMs) // just the backoff: the next incarnation is young when it dies
      await settle()
    }
    await crashYoung(0) // the sixth death, still after a second of service: at once
    await crashYoung(200)
    await crashYoung(400)
    expect(restarts.slice(5).map((r) => r.delayMs)).toEqual([0, 200, 400])
    expect(escalations).toHaveLength(0)
    await crashYoung(800)
    await settle(20)
    expect(escalations).toHaveLength(1)
  })

  it('at the root, escalation stops the system and reports the failure', async () => {
    const clock = new ManualClock()
    const system = await testSystem({ clock, intensity: 1, period: 10_000, backoff: noJitter })
    const ref = await system.spawn(counter)
    await crash(clock, ref)
    await crash(clock, ref)
    await settle(20)
    expect(system.failures).toHaveLength(1)
    // OTP: a supervisor past its intensity ends with reason shutdown; troupe says why.
    expect(system.failures[0]).toMatchObject({
      kind: 'shutdown',
      forced: false,
      escalated: { code: 'TROUPE_E_ESCALATED' },
    })
    await expect(system.spawn(counter, { id: 'late' })).rejects.toMatchObject({
      code: 'TROUPE_E_SYSTEM_STOPPED',
    })
  })

  it("a first start that fails is the caller's error: refused with a coded error, nothing left behind", async () => {
    const system = await testSystem()
    await expect(system.spawn(brokenInit)).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_INIT' })
    expect(nodeAt(system.tree(), '/troupe/brokenInit')).toBeUndefined()
    expect(system.failures).toEqual([])
  })

  it('a child whose restarts keep failing in init is retried with growing delays, then escalates', async () => {
    const clock = new ManualClock()
    const restarts = record('troupe:actor:restart') as Array<{ delayMs: number }>
    const system = await testSystem({ clock, intensity: 3, period: 60_000, backoff: noJitter })
    const ref = await system.spawn(flakyInit)
    const flag = globalThis as { troupeFailInit?: boolean }
    flag.troupeFailInit = true
    try {
      await ref.ask('boom', 'x').catch(() => {})
      for (let i = 0; i < 5; i++) {
        await settle()
        clock.advance(1_000)
      }
      await settle(20)
    } finally {
      flag.troupeFailInit = false
    }
    expect(restarts.map((r) => r.delayMs)).toEqual([100, 200, 400])
    expect(system.failures).toEqual([
      expect.objectContaining({
        kind: 'shutdown',
        escalated: expect.objectContaining({ code: 'TROUPE_E_ESCALATED' }),
      }),
    ])
  })
})

describe('restart on request (an operator restarts one child)', () => {
  const start = async () => {
    const clock = new ManualClock()
    const escalations = record('troupe:supervisor:escalate')
    const system = await testSystem({ clock, backoff: noJitter })
    await system.start(
      supervisor({
        id: 'sup',
        intensity: 2,
        period: 60_000,
        backoff: noJitter,
        children: [actor(counter, { id: 'a' }), actor(counter, { id: 'b', args: 7 })],
      }),
    )
    return { clock, escalations, system, a: system.ref(counter, '/troupe/sup/a') }
  }

  it('stops it gracefully and starts it again, counted in its restarts; many in a row are no crash: no automatic restart, no intensity, no backoff', async () => {
    const { clock, escalations, system, a } = await start()
    const seen = recordInOrder(['spawn', 'ready', 'exit', 'restart'], a.path)
    const restarts = record('troupe:actor:restart') as Array<{ attempt: number; delayMs: number }>
    for (let i = 1; i <= 6; i++) {
      await a.ask('add', 1)
      const node = await system.restart(a.path)
      expect(node).toMatchObject({ path: a.path, state: 'ready', restarts: i })
      expect(node.lastExit).toEqual({ kind: 'shutdown', forced: false })
      expect(await a.ask('get')).toBe(0) // a new incarnation: fresh state
    }
    // Each restart as observers see any other: the exit (shutdown), the restart, a start.
    expect(seen.slice(0, 4)).toEqual(['exit shutdown', 'restart shutdown', 'spawn', 'ready'])
    expect(restarts.map((r) => [r.attempt, r.delayMs])).toEqual(Array(6).fill([0, 0]))
    // Nothing scheduled behind them: time passes, and no restart comes.
    clock.advance(60_000)
    await settle(20)
    expect(restarts).toHaveLength(6)
    expect(nodeAt(system.tree(), '/troupe/sup')).toMatchObject({ state: 'ready', restarts: 0 })
    expect(nodeAt(system.tree(), '/troupe/sup/b')).toMatchObject({ state: 'ready', restarts: 0 })
    // Six operator restarts past an intensity of 2, yet two crashes still fit in it, and the
    // first crash's backoff is the first step (100 ms), not the seventh.
    await crash(clock, a)
    await crash(clock, a)
    expect(restarts.slice(6).map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 100],
      [2, 200],
    ])
    expect(escalations).toEqual([])
    expect(nodeAt(system.tree(), a.path)).toMatchObject({ state: 'ready', restarts: 8 })
    expect(system.failures).toEqual([])
  })

  it('a tell sent while it restarts is handled by the new incarnation (thread placement)', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { id: 'held', placement: 'thread', args: 100 })
    const before = await ref.ask('whereami')
    const restarting = system.restart(ref.path)
    ref.tell('add', 5)
    expect(nodeAt(system.tree(), ref.path)).toMatchObject({ state: 'restarting', mailbox: 1 })
    const node = await restarting
    // Its init starts from 100 again; the tell was not lost with the old incarnation.
    expect(await ref.ask('get')).toBe(105)
    expect(node).toMatchObject({ restarts: 1, state: 'ready' })
    expect(node.threadId).not.toBe(before.threadId)
    expect(nodeAt(system.tree(), ref.path)).toMatchObject({ mailbox: 0, lost: 0 })
  })

  it('refuses with a code: an unknown child, a child not ready; a second ask joins the first', async () => {
    const { clock, system, a } = await start()
    await expect(system.restart('/troupe/sup/nope')).rejects.toMatchObject({
      code: 'TROUPE_E_INVALID_OPTION',
      message: 'no actor or supervisor at /troupe/sup/nope',
    })
    const both = [system.restart(a.path), system.restart(a.path)]
    const [one, two] = await Promise.all(both)
    expect(one).toEqual(two)
    expect(one!.restarts).toBe(1)
    // Crashed, waiting for its backoff: its supervisor is restarting it already.
    await a.ask('boom', 'x').catch(() => {})
    await settle()
    await expect(system.restart(a.path)).rejects.toMatchObject({
      code: 'TROUPE_E_RESTART_REFUSED',
      message: '/troupe/sup/a is restarting: only a ready child is restarted on request',
    })
    clock.advance(1_000)
    await settle()
    expect(nodeAt(system.tree(), a.path)).toMatchObject({ state: 'ready', restarts: 2 })
  })

  it('a supervisor child restarts with its whole subtree', async () => {
    const { system, a } = await start()
    await a.ask('add', 3)
    expect(await system.restart('/troupe/sup')).toMatchObject({
      path: '/troupe/sup',
      state: 'ready',
      restarts: 1,
    })
    expect(await a.ask('get')).toBe(0)
    expect(await system.ref(counter, '/troupe/sup/b').ask('get')).toBe(7)
    expect(nodeAt(system.tree(), '/troupe')).toMatchObject({ state: 'ready', restarts: 0 })
  })

  it('a group restart that stops it meanwhile (one_for_all) does not start it a second time', async () => {
    const clock = new ManualClock()
    const system = await testSystem({ clock, backoff: noJitter })
    await system.start(
      supervisor({
        id: 'group',
        strategy: 'one_for_all',
        backoff: noJitter,
        children: [
          // Its stop hangs until the clock passes its shutdown timeout: a window to crash b in.
          actor(stubborn, { id: 'slow', placement: 'thread', shutdownTimeout: 1_000 }),
          actor(counter, { id: 'b' }),
        ],
      }),
    )
    const slow = system.ref(stubborn, '/troupe/group/slow')
    const b = system.ref(counter, '/troupe/group/b')
    const seen = recordInOrder(['spawn', 'ready'], slow.path)
    const restarting = system.restart(slow.path)
    await b.ask('boom', 'x').catch(() => {})
    await settle()
    expect(nodeAt(system.tree(), slow.path)).toMatchObject({ state: 'restarting' })
    clock.advance(1_000) // the stop is forced; then b's group restart is scheduled
    expect(await restarting).toMatchObject({ state: 'ready', restarts: 1 })
    await settle()
    clock.advance(1_000)
    await eventually(() => nodeAt(system.tree(), b.path)?.state === 'ready', 10_000, 'b restarted')
    expect(await slow.ask('ping')).toBe('pong')
    expect(seen).toEqual(['spawn', 'ready'])
    expect(nodeAt(system.tree(), slow.path)).toMatchObject({ state: 'ready', restarts: 1 })
    expect(nodeAt(system.tree(), b.path)).toMatchObject({ state: 'ready', restarts: 1 })
    // Its stop hangs: the clock forces it.
    let stopped = false
    const stopping = system.stop().then(() => {
      stopped = true
    })
    while (!stopped) {
      clock.advance(1_000)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await stopping
  })

  it('a new incarnation that fails its init is a crash: the caller hears why, the supervisor restarts it', async () => {
    const clock = new ManualClock()
    const restarts = record('troupe:actor:restart') as Array<{ attempt: number; reason: { kind: string } }>
    const system = await testSystem({ clock, backoff: noJitter })
    const ref = await system.spawn(flakyInit)
    const flag = globalThis as { troupeFailInit?: boolean }
    flag.troupeFailInit = true
    try {
      await expect(system.restart(ref.path)).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_INIT' })
    } finally {
      flag.troupeFailInit = false
    }
    await settle()
    clock.advance(1_000)
    await settle()
    expect(restarts.map((r) => [r.attempt, r.reason.kind])).toEqual([
      [0, 'shutdown'],
      [1, 'crash'],
    ])
    expect(nodeAt(system.tree(), ref.path)).toMatchObject({ state: 'ready', restarts: 2 })
  })
})

describe('shutdown', () => {
  it('stops children in reverse start order', async () => {
    const exits = record('troupe:actor:exit') as Array<{ path: string }>
    const system = await testSystem()
    await system.start(
      supervisor({ id: 'sup', children: ['first', 'second', 'third'].map((id) => actor(counter, { id })) }),
    )
    await system.stop()
    expect(exits.map((e) => e.path).filter((p) => p.startsWith('/troupe/sup/'))).toEqual([
      '/troupe/sup/third',
      '/troupe/sup/second',
      '/troupe/sup/first',
    ])
  })
})

describe('pool', () => {
  it('starts identical members, restarts one alone, scales live', async () => {
    const clock = new ManualClock()
    const system = await testSystem({ clock })
    const pool = await system.pool({ id: 'workers', actor: counter, size: 3, backoff: noJitter })
    const [a, b, c] = pool.refs()
    for (const ref of [a, b, c]) await ref!.ask('add', 1)
    await crash(clock, b!)
    expect(await Promise.all([a, b, c].map((r) => r!.ask('get')))).toEqual([1, 0, 1])
    await pool.scaleTo(5)
    expect(pool.size).toBe(5)
    expect(nodeAt(system.tree(), '/troupe/workers')!.children!.map((n) => n.name)).toEqual([
      'counter-1',
      'counter-2',
      'counter-3',
      'counter-4',
      'counter-5',
    ])
    await pool.scaleTo(2)
    expect(pool.refs().map((r) => r.path)).toEqual(['/troupe/workers/counter-1', '/troupe/workers/counter-2'])
    expect(nodeAt(system.tree(), '/troupe/workers')).toMatchObject({ kind: 'supervisor', strategy: 'pool' })
  })
})

describe('lifecycle channels', () => {
  it('publishes spawn, ready, exit and restart with the documented names', async () => {
    const clock = new ManualClock()
    const spawns = record('troupe:actor:spawn')
    const readies = record('troupe:actor:ready')
    const exits = record('troupe:actor:exit')
    const restarts = record('troupe:actor:restart')
    const system = await testSystem({ clock, backoff: noJitter })
    const ref = await system.spawn(counter, { placement: 'thread' })
    await ref.ask('boom', 'x').catch(() => {})
    for (let i = 0; i < 100 && restarts.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    clock.advance(100)
    await ref.ask('get')
    expect(spawns).toContainEqual({ path: ref.path, kind: 'actor', placement: 'thread' })
    expect(readies.filter((r) => (r as { path: string }).path === ref.path)).toHaveLength(2)
    expect(readies[0]).toMatchObject({ path: ref.path, pid: process.pid, threadId: expect.any(Number) })
    expect(exits).toContainEqual({ path: ref.path, reason: expect.objectContaining({ kind: 'crash' }) })
    expect(restarts).toContainEqual(
      expect.objectContaining({ path: ref.path, supervisor: '/troupe', attempt: 1 }),
    )
  })
})
