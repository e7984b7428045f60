/**
 * The example app: every worker counts visits in one `visits` actor that the master
 * supervises, so the count is shared across workers and survives reloads.
 *
 *   npm start                      # serves this app on http://127.0.0.1:8000
 *   curl http://127.0.0.1:8000/    # → visit #1 to / (worker w1)
 */
import { defineActor } from '../runtime/actor.ts'
import { defineApp } from './app.ts'

export const visits = defineActor({
  name: 'visits',
  init: () => new Map<string, number>(),
  handle: {
    hit: (counts, path: string) => {
      const n = (counts.get(path) ?? 0) + 1
      counts.set(path, n)
      return n
    },
    count: (counts, path: string) => counts.get(path) ?? 0,
  },
})

export default defineApp({
  name: 'visits',
  actors: [{ actor: visits, options: { placement: 'thread' } }],
  async fetch(request, ctx) {
    const { pathname } = new URL(request.url)
    if (pathname === '/health') return new Response('ok\n')
    const n = await ctx.actor(visits).ask('hit', pathname)
    return new Response(`visit #${n} to ${pathname} (worker ${ctx.worker.id}, pid ${ctx.worker.pid})\n`, {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    })
  },
})
