/**
 * The threads kind (`--kind thread-pool`): what the crossing to a pool thread costs on a hello
 * world (one worker, one pool thread, pinned, against bare node:http), and what it buys on the
 * app it exists for — a handler that blocks 20 ms per request — where one worker with 16 pool
 * threads is set against one coroutine worker (not pinned: the handler sleeps, it does not spin).
 */
import { fixed, median } from '../runner.ts'
import { type Comparison, compareTable, comparisonSeconds, ratioTarget } from './compare.ts'
import { bareNode, troupe } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const BLOCK_MS = 20

const hello: Comparison = {
  title: 'hello world `{ fetch }` under the threads kind, 1 worker, 1 pool thread: ratio to bare node:http',
  baseline: bareNode,
  candidates: [
    troupe('troupe threads kind (1 pool thread), thread placement', {
      app: 'hello-fetch.ts',
      kind: 'thread-pool',
    }),
    troupe('troupe threads kind (1 pool thread), process placement', {
      app: 'hello-fetch.ts',
      kind: 'thread-pool',
      placement: 'process',
    }),
  ],
  load: { pin: true, close: false },
  targets: ([thread, process]) => [
    ratioTarget('threads kind hello, thread placement ÷ bare node:http', thread!, 0.5),
    ratioTarget('threads kind hello, process placement ÷ bare node:http', process!, 0.5),
  ],
}

const blocking: Comparison = {
  title: `a handler blocking ${BLOCK_MS} ms per request: 16 pool threads against one coroutine worker (p99 bound 25 × ${BLOCK_MS} ms)`,
  baseline: troupe('troupe coroutine, 1 worker', { app: 'blocking-fetch.ts' }),
  candidates: [
    troupe('troupe threads kind, 16 pool threads, 1 worker', {
      app: 'blocking-fetch.ts',
      kind: 'thread-pool',
      threads: 16,
    }),
  ],
  load: { pin: false, close: false, whole: true },
  targets: ([pool]) => {
    const p99 = median(pool!.runs.map((r) => r.p99))
    return [
      ratioTarget(`blocking ${BLOCK_MS} ms: threads kind (16 threads) ÷ coroutine worker`, pool!, 10),
      {
        what: `blocking ${BLOCK_MS} ms: threads kind p99 latency`,
        measured: `${fixed(p99, 0)} ms`,
        bound: `< ${25 * BLOCK_MS} ms`,
        met: Number.isFinite(p99) ? p99 < 25 * BLOCK_MS : undefined,
      },
    ]
  },
}

export const threadsKind: Scenario = {
  name: 'threads',
  title: 'The threads kind: its crossing on a hello world, and a handler that blocks 20 ms',
  estimate: (s) => comparisonSeconds(s, hello) + comparisonSeconds(s, blocking),
  run: async (settings, progress) => [
    await compareTable(settings, hello, progress),
    await compareTable(settings, blocking, progress),
  ],
}
