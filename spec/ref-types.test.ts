/**
 * Type tests: typed refs refuse what the protocol does not accept. `npm run typecheck`
 * (run in CI) fails if any @ts-expect-error stops being an error or an expectTypeOf fails.
 */
import { describe, expectTypeOf, it } from 'vitest'
import {
  type ActorRef,
  type ActorSystem,
  type ArgsOfDefinition,
  defineActor,
  type ProtocolOfDefinition,
} from '../runtime/index.ts'

const account = defineActor({
  name: 'account',
  init: (opening: number) => ({ balance: opening }),
  handle: {
    deposit: (s, cents: number) => (s.balance += cents),
    balance: (s) => s.balance,
    rename: async (_s, to: { first: string; last?: string }) => `${to.first} ${to.last ?? ''}`,
    optional: (_s, note?: string) => note ?? null,
  },
})
type Account = ActorRef<ProtocolOfDefinition<typeof account>>
declare const ref: Account
declare const system: ActorSystem
/** Type-checked, never run: `ref` exists only for the compiler. */
const compileOnly = (_: () => unknown) => {}

describe('ActorRef types', () => {
  it('types replies from the handler, unwrapping promises', () => {
    compileOnly(() => {
      expectTypeOf(ref.ask('deposit', 5)).toEqualTypeOf<Promise<number>>()
      expectTypeOf(ref.ask('balance')).toEqualTypeOf<Promise<number>>()
      expectTypeOf(ref.ask('rename', { first: 'a' })).toEqualTypeOf<Promise<string>>()
      expectTypeOf(ref.ask('optional')).toEqualTypeOf<Promise<string | null>>()
      expectTypeOf(ref.tell('deposit', 1)).toEqualTypeOf<void>()
      expectTypeOf(system.spawn(account)).toEqualTypeOf<Promise<Account>>()
    })
    expectTypeOf<ArgsOfDefinition<typeof account>>().toEqualTypeOf<number>()
  })

  it('refuses wrong messages, payloads and reply types at compile time', () => {
    compileOnly(() => {
      // @ts-expect-error -- not a message of this protocol
      ref.tell('withdraw', 5)
      // @ts-expect-error -- wrong payload type
      ref.tell('deposit', '5')
      // @ts-expect-error -- payload required
      ref.ask('deposit')
      // @ts-expect-error -- payload shape checked deeply
      ref.ask('rename', { last: 'x' })
      // @ts-expect-error -- the reply is a number, not a string
      const wrong: Promise<string> = ref.ask('balance')
      // @ts-expect-error -- options are typed too
      ref.ask('balance', undefined, { timeout: 'soon' })
      // @ts-expect-error -- init arguments are typed as well
      void system.spawn(account, { args: 'lots' })
      return wrong
    })
  })
})
