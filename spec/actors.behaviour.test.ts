/**
 * One behaviour suite, run against every placement: what a ref user observes must not
 * depend on where the actor lives.
 */
import { describe, expect, it } from 'vitest'
import type { Placement } from '../runtime/index.ts'
import { counter } from './fixtures/actors.ts'
import { validated } from './fixtures/schema-actors.ts'
import { eventually } from './support/manual-clock.ts'
import { nodeAt, testSystem } from './support/system.ts'

const placements: Placement[] = ['local', 'thread', 'process']

describe.each(placements)('actor in %s placement', (placement) => {
  it('answers asks with typed replies and handles tells in order', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement, args: 5 })
    expect(await ref.ask('add', 2)).toBe(7)
    for (let i = 0; i < 50; i++) ref.tell('note', `n${i}`)
    ref.tell('add', 3)
    expect(await ref.ask('get')).toBe(10)
    expect(await ref.ask('notes')).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`))
  })

  it('runs where the placement says', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement })
    const where = await ref.ask('whereami')
    const node = nodeAt(system.tree(), ref.path)!
    expect(node.placement).toBe(placement)
    expect(node.pid).toBe(where.pid)
    if (placement === 'process') expect(where.pid).not.toBe(process.pid)
    else expect(where.pid).toBe(process.pid)
    if (placement === 'thread') {
      expect(where.threadId).toBeGreaterThan(0)
      expect(node.threadId).toBe(where.threadId)
    } else expect(node.threadId).toBeNull()
  })

  it('times an ask out with a coded error, and the actor lives on', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement })
    await expect(ref.ask('slow', 500, { timeout: 50 })).rejects.toMatchObject({
      code: 'TROUPE_E_ASK_TIMEOUT',
    })
    expect(await ref.ask('get')).toBe(0)
  })

  it('aborts an ask through its AbortSignal', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement })
    const controller = new AbortController()
    const pending = ref.ask('slow', 300, { signal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toMatchObject({ code: 'TROUPE_E_ASK_ABORTED' })
    await expect(ref.ask('get', undefined, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'TROUPE_E_ASK_ABORTED',
    })
  })

  it('refuses a message type outside the protocol, at the sender, and lives on', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement })
    // @ts-expect-error -- not in the protocol: the type system refuses it too
    expect(() => ref.tell('nope', 1)).toThrow(expect.objectContaining({ code: 'TROUPE_E_UNKNOWN_MESSAGE' }))
    // @ts-expect-error -- same for ask
    await expect(ref.ask('nope')).rejects.toMatchObject({ code: 'TROUPE_E_UNKNOWN_MESSAGE' })
    expect(await ref.ask('add', 1)).toBe(1)
  })

  it('bounds the mailbox: a full mailbox refuses senders with a coded error until it drains', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement, mailbox: 3 })
    const slow = ref.ask('slow', 200)
    ref.tell('note', 'a')
    ref.tell('note', 'b')
    expect(() => ref.tell('note', 'c')).toThrow(expect.objectContaining({ code: 'TROUPE_E_MAILBOX_FULL' }))
    await expect(ref.ask('get')).rejects.toMatchObject({ code: 'TROUPE_E_MAILBOX_FULL' })
    expect(nodeAt(system.tree(), ref.path)!.mailbox).toBe(3)
    expect(await slow).toBe(200)
    // Drained: accepted again, and nothing accepted earlier was lost.
    await eventually(() => nodeAt(system.tree(), ref.path)!.mailbox === 0, 5_000, 'the mailbox to drain')
    expect(await ref.ask('notes')).toEqual(['a', 'b'])
  })

  it('validates payloads against the declared schema; a malformed one is refused and the actor lives on', async () => {
    const system = await testSystem()
    const ref = await system.spawn(validated, { placement })
    expect(() => ref.tell('deposit', { cents: -5 })).toThrow(
      expect.objectContaining({ code: 'TROUPE_E_INVALID_MESSAGE' }),
    )
    await expect(ref.ask('deposit', { cents: 1.5 })).rejects.toMatchObject({
      code: 'TROUPE_E_INVALID_MESSAGE',
    })
    await expect(ref.ask('deposit', { cents: 'ten' } as never)).rejects.toMatchObject({
      code: 'TROUPE_E_INVALID_MESSAGE',
    })
    expect(await ref.ask('deposit', { cents: 250 })).toBe(250)
    expect(nodeAt(system.tree(), ref.path)!.restarts).toBe(0)
  })

  it('moves transferables: the sender keeps a detached buffer, the actor gets the bytes', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement })
    const buffer = new Uint8Array(1024).fill(1).buffer
    expect(await ref.ask('sum', buffer, { transfer: [buffer] })).toBe(1024)
    expect(buffer.detached).toBe(true)
    const filled = await ref.ask('fill', 64)
    expect(filled).toBeInstanceOf(ArrayBuffer)
    expect(new Uint8Array(filled).every((b) => b === 7)).toBe(true)
  })

  it('a throwing handler crashes the actor: the asker gets a coded error, the supervisor restarts it fresh', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement, args: 10 })
    await ref.ask('add', 5)
    const error = await ref.ask('boom', 'kaput').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TROUPE_E_ACTOR_CRASHED' })
    expect((error as Error).message).toContain('kaput')
    // Messages sent while it restarts wait for the new incarnation rather than failing.
    expect(await ref.ask('get')).toBe(10)
    const node = nodeAt(system.tree(), ref.path)!
    expect(node.restarts).toBe(1)
    expect(node.state).toBe('ready')
    expect(node.lastExit).toMatchObject({ kind: 'crash', error: { message: 'kaput' } })
  })

  it('stops itself with ctx.stop(): exit reason normal, a transient child is not restarted', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement, restart: 'transient' })
    expect(await ref.ask('stopSelf')).toBe('bye')
    // OTP keeps a transient child's spec: the tree shows it stopped.
    const node = await eventually(
      () =>
        nodeAt(system.tree(), ref.path)?.state === 'stopped' ? nodeAt(system.tree(), ref.path) : undefined,
      5_000,
      'the child to stop',
    )
    expect(node).toMatchObject({ restarts: 0, lastExit: { kind: 'normal' } })
    expect(() => ref.tell('add', 1)).toThrow(expect.objectContaining({ code: 'TROUPE_E_ACTOR_STOPPED' }))
  })

  it('a transient actor that stops itself accounts for what it never started: asks refused, tells lost', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement, restart: 'transient' })
    const bye = ref.ask('stopSelf')
    ref.tell('note', 'a')
    ref.tell('note', 'b')
    const late = ref.ask('get')
    expect(await bye).toBe('bye')
    await expect(late).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_STOPPED' })
    expect(nodeAt(system.tree(), ref.path)).toMatchObject({ state: 'stopped', mailbox: 0, lost: 2 })
  })

  it('after ctx.stop(), messages it never started go to the next incarnation', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement, restart: 'permanent' })
    const bye = ref.ask('stopSelf')
    ref.tell('note', 'a')
    ref.tell('note', 'b')
    expect(await bye).toBe('bye')
    expect(await ref.ask('notes')).toEqual(['a', 'b'])
    expect(nodeAt(system.tree(), ref.path)).toMatchObject({
      restarts: 1,
      lastExit: { kind: 'normal' },
      lost: 0,
    })
  })

  it('stops gracefully on shutdown, with exit reason shutdown', async () => {
    const system = await testSystem()
    const exits: unknown[] = []
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel')
    const onExit = (event: unknown) => exits.push(event)
    subscribe('troupe:actor:exit', onExit)
    try {
      const ref = await system.spawn(counter, { placement })
      await ref.ask('get')
      await system.stop()
      expect(exits).toContainEqual({ path: ref.path, reason: { kind: 'shutdown', forced: false } })
      await expect(ref.ask('get')).rejects.toMatchObject({ code: 'TROUPE_E_ACTOR_STOPPED' })
    } finally {
      unsubscribe('troupe:actor:exit', onExit)
    }
  })
})

describe.each(['thread', 'process'] as const)('across the %s boundary', (placement) => {
  it('refuses a message that cannot be cloned with a coded error, and lives on', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement })
    expect(() => ref.tell('echo', () => 1)).toThrow(expect.objectContaining({ code: 'TROUPE_E_UNCLONEABLE' }))
    expect(await ref.ask('echo', { a: [1, 2], at: new Date(0) })).toEqual({ a: [1, 2], at: new Date(0) })
  })
})
