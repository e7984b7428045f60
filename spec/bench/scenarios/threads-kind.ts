/**
 * The threads kind (`--kind thread-pool`): what the crossing to a pool thread costs on a hello
 * world (one worker, one pool thread, pinned, against bare node:http), and what it buys on the
 * app it exists for — a handler that blocks 20 ms per request — where one worker with 16 pool
 * threads is set against one coroutine worker (not pinned: the handler sleeps, it does not spin).
 */
import { fixed, median } from '../runner.ts'
import { alternate, rateRow, ratioTarget, runSeconds } from './compare.ts'
import { bareNode, troupe } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const helloCandidates = [
  troupe('troupe threads kind (1 pool thread), thread placement', {
    app: 'hello-fetch.ts',
    kind: 'thread-pool',
  }),
  troupe('troupe threads kind (1 pool thread), process placement', {
    app: 'hello-fetch.ts',
    kind: 'thread-pool',
    placement: 'process',
  }),
]
const coroutine = troupe('troupe coroutine, 1 worker', { app: 'blocking-fetch.ts' })
const pooled = troupe('troupe threads kind, 16 pool threads, 1 worker', {
  app: 'blocking-fetch.ts',
  kind: 'thread-pool',
  threads: 16,
})
const BLOCK_MS = 20

export const threadsKind: Scenario = {
  name: 'threads',
  title: 'The threads kind: its crossing on a hello world, and a handler that blocks 20 ms',
  estimate: (s) => s.rounds * (1 + helloCandidates.length) * runSeconds(s) + s.rounds * 2 * runSeconds(s),
  run: async (settings, progress) => {
    const hello = await alternate(settings, bareNode, helloCandidates, { pin: true, close: false }, progress)
    const blocking = await alternate(settings, coroutine, [pooled], { pin: false, close: false }, progress)
    const [thread, process] = hello.candidates
    const pool = blocking.candidates[0]!
    const p99 = median(pool.runs.map((r) => r.p99))
    return [
      {
        title:
          'hello world `{ fetch }` under the threads kind, 1 worker, 1 pool thread: ratio to bare node:http',
        method:
          `Server pinned to CPU 1, \`wrk -t1 -c${settings.connections}\` on CPU 0, ${settings.duration} s runs after ` +
          `${settings.warmup} s warm-up, ${settings.rounds} rounds; ratio = candidate ÷ bare node:http of its round.`,
        rows: [rateRow(hello.baseline, true), ...hello.candidates.map((m) => rateRow(m, false))],
        targets: [
          ratioTarget('threads kind hello, thread placement ÷ bare node:http', thread!, 0.5),
          ratioTarget('threads kind hello, process placement ÷ bare node:http', process!, 0.5),
        ],
        commands: hello.commands,
      },
      {
        title: `a handler blocking ${BLOCK_MS} ms per request: 16 pool threads against one coroutine worker`,
        method:
          `Not pinned; \`wrk -t1 -c${settings.connections}\`, ${settings.duration} s runs after ${settings.warmup} s ` +
          `warm-up, ${settings.rounds} rounds; ratio = threads kind ÷ coroutine of its round. The p99 bound is 25 × ${BLOCK_MS} ms.`,
        rows: [rateRow(blocking.baseline, true), rateRow(pool, false)],
        targets: [
          ratioTarget(`blocking ${BLOCK_MS} ms: threads kind (16 threads) ÷ coroutine worker`, pool, 10),
          {
            what: `blocking ${BLOCK_MS} ms: threads kind p99 latency`,
            measured: `${fixed(p99, 0)} ms`,
            bound: `< ${25 * BLOCK_MS} ms`,
            met: Number.isFinite(p99) ? p99 < 25 * BLOCK_MS : undefined,
          },
        ],
        commands: blocking.commands,
      },
    ]
  },
}
