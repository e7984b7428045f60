/**
 * Errors keep their catalogue class across every boundary: thread and process placements
 * (both ways), the local one, and a second copy of troupe's errors module.
 */
import { describe, expect, it } from 'vitest'
import {
  ActorCrashedError,
  ActorStoppedError,
  deserializeError,
  MailboxFullError,
  type Placement,
  serializeError,
  TroupeError,
} from '../runtime/index.ts'
import { counter, relay } from './fixtures/actors.ts'
import { testSystem } from './support/system.ts'

const placements: Placement[] = ['local', 'thread', 'process']

describe.each(placements)('from the %s placement', (placement) => {
  it('a crash comes back to the asker as ActorCrashedError, with what the handler threw as its cause', async () => {
    const system = await testSystem()
    const ref = await system.spawn(counter, { placement })
    const error = await ref.ask('boom', 'kaput').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ActorCrashedError)
    expect(error).toBeInstanceOf(TroupeError)
    expect(error).not.toBeInstanceOf(MailboxFullError)
    const crashed = error as InstanceType<typeof ActorCrashedError>
    expect(crashed.code).toBe('TROUPE_E_ACTOR_CRASHED')
    expect(crashed.name).toBe('ActorCrashedError')
    expect(crashed.message).toContain('kaput')
    // The remote stack is kept: the handler's frames, from the fixture's file.
    const cause = crashed.cause as Error
    expect(cause).toBeInstanceOf(Error)
    expect(cause.message).toBe('kaput')
    expect(cause.stack).toContain('fixtures/actors.ts')
  })

  it('an error the parent raises reaches the actor as its class (ctx.ref to nobody)', async () => {
    const system = await testSystem()
    const ref = await system.spawn(relay, { placement, args: '/troupe/nobody' })
    expect(await ref.ask('probe', 1)).toEqual({ code: 'TROUPE_E_ACTOR_STOPPED', stopped: true, troupe: true })
  })
})

describe('across two copies of the errors module', () => {
  it('instanceof holds both ways, by code', async () => {
    const copy = (await import(
      // @ts-expect-error -- a second instance of the same module, as a second install would be
      '../runtime/errors.ts?copy=2'
    )) as typeof import('../runtime/errors.ts')
    expect(copy.ActorCrashedError).not.toBe(ActorCrashedError)
    const theirs = new copy.ActorStoppedError('from the other copy')
    expect(theirs).toBeInstanceOf(ActorStoppedError)
    expect(theirs).toBeInstanceOf(TroupeError)
    expect(theirs).not.toBeInstanceOf(ActorCrashedError)
    const ours = new ActorStoppedError()
    expect(ours).toBeInstanceOf(copy.ActorStoppedError)
    expect(ours).toBeInstanceOf(copy.TroupeError)
    // Rebuilt by one copy from what the other serialized.
    expect(copy.deserializeError(serializeError(ours))).toBeInstanceOf(ActorStoppedError)
    expect(new Error('plain')).not.toBeInstanceOf(copy.TroupeError)
    expect({ code: 'TROUPE_E_ACTOR_STOPPED' }).not.toBeInstanceOf(ActorStoppedError)
  })

  it("a user's own subclass keeps the ordinary prototype check", () => {
    class QuotaError extends TroupeError {
      constructor() {
        super('APP_E_QUOTA', 'over quota')
      }
    }
    const error = new QuotaError()
    expect(error).toBeInstanceOf(QuotaError)
    expect(error).toBeInstanceOf(TroupeError)
    expect(new ActorStoppedError()).not.toBeInstanceOf(QuotaError)
  })
})

describe('deserializeError', () => {
  it('rebuilds a catalogue code as its class, keeps the remote stack, and leaves other codes plain', () => {
    const remote = new MailboxFullError('full over there')
    const rebuilt = deserializeError(serializeError(remote))
    expect(rebuilt).toBeInstanceOf(MailboxFullError)
    expect(rebuilt.message).toBe('full over there')
    expect(rebuilt.stack).toContain(remote.stack!.split('\n')[1]!.trim())
    expect(rebuilt.stack).toContain('received across the placement boundary')
    const other = deserializeError({ name: 'SystemError', message: 'nope', code: 'ECONNREFUSED' })
    expect(other).not.toBeInstanceOf(TroupeError)
    expect(other).toMatchObject({ name: 'SystemError', code: 'ECONNREFUSED', message: 'nope' })
  })
})
