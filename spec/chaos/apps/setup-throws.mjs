/** An app that imports fine but whose per-worker setup throws (a database it cannot reach). */
export default {
  setup() {
    throw new Error('connect ECONNREFUSED 127.0.0.1:5432')
  },
  fetch: () => new Response('never\n'),
}
