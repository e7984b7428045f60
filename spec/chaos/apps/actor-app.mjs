/**
 * An app whose every request asks an app actor (a counter), for the app-actors fault. `GET /die`
 * makes the actor's thread or process exit at once (as a crash would); a failed ask answers 503
 * with the error's code as its body. The actor's placement comes from
 * TROUPE_CHAOS_ACTOR_PLACEMENT (thread unless it says process).
 */
import { defineActor, defineApp } from 'troupe'

export const counter = defineActor({
  name: 'counter',
  init: () => ({ n: 0 }),
  handle: {
    bump: (state) => ++state.n,
    die: () => process.exit(1),
  },
})

const placement = process.env.TROUPE_CHAOS_ACTOR_PLACEMENT === 'process' ? 'process' : 'thread'

export default defineApp({
  actors: [{ actor: counter, options: { placement } }],
  async fetch(request, ctx) {
    if (new URL(request.url).pathname === '/die') {
      ctx.actor(counter).tell('die')
      return new Response('told\n')
    }
    try {
      return new Response(`${await ctx.actor(counter).ask('bump')}\n`)
    } catch (error) {
      return new Response(`${error.code ?? error.name}\n`, { status: 503 })
    }
  },
})
