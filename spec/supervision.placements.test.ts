/**
 * Supervision with real thread and process children (and the system clock): strategies,
 * what happens to the messages of a group being restarted, restart types, intensity and
 * escalation, ordered and bounded shutdown. OTP's supervisor documentation is the reference.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { beforeEach, describe, expect, it } from 'vitest'
import { actor, type ExitEvent, type Placement, supervisor } from '../runtime/index.ts'
import { counter, stubborn } from './fixtures/actors.ts'
import { eventually } from './support/manual-clock.ts'
import { nodeAt, testSystem } from './support/system.ts'

const exits: ExitEvent[] = []
const onExit = (event: unknown) => exits.push(event as ExitEvent)
subscribe('troupe:actor:exit', onExit)
// Before, not after: the previous test's system is stopped (and publishes) after its afterEach.
beforeEach(() => {
  exits.length = 0
})
process.on('exit', () => unsubscribe('troupe:actor:exit', onExit))

const quick = { min: 10, max: 20, factor: 2, jitter: 0, resetAfter: 60_000 }
const long = 60_000

/** Children a (thread), b (process), c (thread) under `strategy`. */
const group = async (strategy: 'one_for_all' | 'rest_for_one', extra: { temporary?: Placement } = {}) => {
  const system = await testSystem()
  const children = [
    actor(counter, { id: 'a', placement: 'thread', args: 0 }),
    actor(counter, { id: 'b', placement: 'process', args: 0 }),
    actor(counter, { id: 'c', placement: 'thread', args: 0 }),
  ]
  if (extra.temporary)
    children.push(actor(counter, { id: 't', placement: extra.temporary, restart: 'temporary', args: 0 }))
  await system.start(supervisor({ id: 'sup', strategy, intensity: 10, backoff: quick, children }))
  const ref = (id: string) => system.ref(counter, `/troupe/sup/${id}`)
  return { system, ref }
}

const readyAgain = (system: Awaited<ReturnType<typeof testSystem>>, path: string, restarts: number) =>
  eventually(
    () => {
      const node = nodeAt(system.tree(), path)
      return node?.state === 'ready' && node.restarts === restarts ? node : undefined
    },
    20_000,
    `${path} to be ready after ${restarts} restart(s)`,
  )

describe('strategies on threads and processes', () => {
  it('one_for_all: a crashing process child restarts its thread siblings too', async () => {
    const { system, ref } = await group('one_for_all')
    for (const id of ['a', 'b', 'c']) await ref(id).ask('add', 5)
    await ref('b')
      .ask('boom', 'x')
      .catch(() => {})
    for (const id of ['a', 'b', 'c']) await readyAgain(system, `/troupe/sup/${id}`, 1)
    expect(await Promise.all(['a', 'b', 'c'].map((id) => ref(id).ask('get')))).toEqual([0, 0, 0])
  })

  it('rest_for_one: children started before the crashing one keep running', async () => {
    const { system, ref } = await group('rest_for_one')
    for (const id of ['a', 'b', 'c']) await ref(id).ask('add', 5)
    await ref('b')
      .ask('boom', 'x')
      .catch(() => {})
    await readyAgain(system, '/troupe/sup/c', 1)
    expect(await Promise.all(['a', 'b', 'c'].map((id) => ref(id).ask('get')))).toEqual([5, 0, 0])
    expect(nodeAt(system.tree(), '/troupe/sup/a')!.restarts).toBe(0)
  })
})

describe('the messages of a group being restarted', () => {
  it.each(['one_for_all', 'rest_for_one'] as const)(
    '%s: what a sibling had not started goes to its next incarnation; asks sent meanwhile are answered, not refused',
    async (strategy) => {
      const { system, ref } = await group(strategy)
      const c = ref('c')
      // c is busy; two tells wait behind the slow message when b crashes.
      const slow = c.ask('slow', 400)
      c.tell('note', 'first')
      c.tell('note', 'second')
      await ref('b')
        .ask('boom', 'x')
        .catch(() => {})
      // Sent while c is being stopped for the restart: it waits for the next incarnation.
      const during = c.ask('notes', undefined, { timeout: 20_000 })
      expect(await slow).toBe(400)
      expect(await during).toEqual(['first', 'second'])
      expect(nodeAt(system.tree(), '/troupe/sup/c')).toMatchObject({ restarts: 1, lost: 0, mailbox: 0 })
    },
    30_000,
  )

  it('a temporary sibling is not restarted by a group restart: stopped for good, its spec deleted', async () => {
    const { system, ref } = await group('one_for_all', { temporary: 'process' })
    const t = ref('t')
    await t.ask('add', 1)
    await ref('b')
      .ask('boom', 'x')
      .catch(() => {})
    await readyAgain(system, '/troupe/sup/a', 1)
    const sup = nodeAt(system.tree(), '/troupe/sup')!
    expect(sup.children!.map((n) => n.name)).toEqual(['a', 'b', 'c'])
    await expect(t.ask('get')).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_STOPPED' })
    expect(exits).toContainEqual({ path: '/troupe/sup/t', reason: { kind: 'shutdown', forced: false } })
  })
})

describe('intensity and escalation', () => {
  const escalating = async (restart: 'permanent' | 'transient') => {
    const system = await testSystem({ backoff: quick, intensity: 10, period: long })
    await system.start(
      supervisor({
        id: 'inner',
        restart,
        intensity: 1,
        period: long,
        backoff: quick,
        children: [
          actor(counter, { id: 'p', placement: 'process' }),
          actor(counter, { id: 't', placement: 'thread' }),
        ],
      }),
    )
    const p = system.ref(counter, '/troupe/inner/p')
    const t = system.ref(counter, '/troupe/inner/t')
    await p.ask('boom', 'one').catch(() => {})
    await readyAgain(system, '/troupe/inner/p', 1)
    // t is busy when the supervisor gives up; a tell and an ask wait behind.
    const slow = t.ask('slow', 1_500)
    await p.ask('boom', 'two').catch(() => {}) // one restart more than intensity 1 allows
    t.tell('note', 'waiting')
    const notes = t.ask('notes', undefined, { timeout: 20_000 })
    return { system, slow, notes }
  }

  it('past its intensity a supervisor stops its children and itself with reason shutdown; a permanent parent restarts it', async () => {
    const { system, slow, notes } = await escalating('permanent')
    expect(await slow).toBe(1_500)
    // Kept for the restart its parent decided on, not refused.
    expect(await notes).toEqual(['waiting'])
    await readyAgain(system, '/troupe/inner', 1)
    const inner = nodeAt(system.tree(), '/troupe/inner')!
    expect(inner.lastExit).toMatchObject({ kind: 'shutdown', escalated: { code: 'TROUPE_E_ESCALATED' } })
    expect(exits).toContainEqual({ path: '/troupe/inner/t', reason: { kind: 'shutdown', forced: false } })
    expect(await system.ref(counter, '/troupe/inner/t').ask('add', 2)).toBe(2)
    expect(system.failures).toEqual([])
  })

  it('a transient parent does not restart a supervisor that gave up (its exit is shutdown)', async () => {
    const { system, notes } = await escalating('transient')
    // Its parent lets it go: what waited for its children is refused, with the code that says so.
    await expect(notes).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_STOPPED' })
    const inner = await eventually(
      () => {
        const node = nodeAt(system.tree(), '/troupe/inner')
        return node?.state === 'stopped' ? node : undefined
      },
      20_000,
      'the supervisor to stop',
    )
    expect(inner).toMatchObject({
      restarts: 0,
      lastExit: { kind: 'shutdown', escalated: { code: 'TROUPE_E_ESCALATED' } },
    })
    expect(nodeAt(system.tree(), '/troupe')!.restarts).toBe(0)
    await expect(system.ref(counter, '/troupe/inner/t').ask('get')).rejects.toMatchObject({
      code: 'TROUPE_E_ACTOR_STOPPED',
    })
    expect(system.failures).toEqual([])
  })
})

describe('shutdown', () => {
  it("stops thread and process children in reverse start order, then publishes the supervisor's own exit", async () => {
    const system = await testSystem()
    await system.start(
      supervisor({
        id: 'sup',
        children: [
          actor(counter, { id: 'first', placement: 'process' }),
          actor(counter, { id: 'second', placement: 'thread' }),
          actor(counter, { id: 'third', placement: 'process' }),
        ],
      }),
    )
    await system.stop()
    expect(exits.map((e) => e.path)).toEqual([
      '/troupe/sup/third',
      '/troupe/sup/second',
      '/troupe/sup/first',
      '/troupe/sup',
      '/troupe',
    ])
    expect(exits.every((e) => e.reason.kind === 'shutdown' && !e.reason.forced)).toBe(true)
  })

  it("a supervisor's shutdownTimeout bounds its whole subtree: children that outlast it are forced", async () => {
    const system = await testSystem()
    await system.start(
      supervisor({
        id: 'sup',
        shutdownTimeout: 300,
        children: [
          // Their own timeouts are far longer than the test: only the supervisor's bound ends them.
          actor(stubborn, { id: 'x', placement: 'thread', shutdownTimeout: long }),
          actor(stubborn, { id: 'y', placement: 'process', shutdownTimeout: long }),
        ],
      }),
    )
    await system.stop()
    expect(exits).toContainEqual({ path: '/troupe/sup/y', reason: { kind: 'shutdown', forced: true } })
    expect(exits).toContainEqual({ path: '/troupe/sup/x', reason: { kind: 'shutdown', forced: true } })
    expect(exits).toContainEqual({ path: '/troupe/sup', reason: { kind: 'shutdown', forced: true } })
  }, 20_000)
})
