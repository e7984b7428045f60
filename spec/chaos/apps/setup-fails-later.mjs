/**
 * An app whose per-worker setup starts failing once the file named by TROUPE_CHAOS_BROKEN exists
 * (a database that went away): the workers that are up keep serving, every new one fails.
 */
import { existsSync } from 'node:fs'

export default {
  setup() {
    const marker = process.env.TROUPE_CHAOS_BROKEN
    if (marker && existsSync(marker)) throw new Error('connect ECONNREFUSED 127.0.0.1:5432')
  },
  fetch: () => new Response('hello world\n'),
}
