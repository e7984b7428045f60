/**
 * The floor under spawn-ready.ts's figures, measured the same way on the same machine: a bare
 * worker thread (or forked process) that loads node:http and listens (floor-child.mjs), timed
 * from `new Worker()` / `fork()` to its "ready", in batches of `--batch` kept alive together,
 * as spawn-ready.ts grows a pool. Prints one JSON line: `{ placement, spawnMs: number[] }`.
 * Run: `node spec/bench/spawn-floor.ts [--placement thread|process] [--spawns 20] [--batch 4]`
 */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'

const { values } = parseArgs({
  options: {
    placement: { type: 'string', default: 'thread' },
    spawns: { type: 'string', default: '20' },
    batch: { type: 'string', default: '4' },
  },
})
const child = new URL('./floor-child.mjs', import.meta.url)
const spawns = Number(values.spawns)
const batch = Math.max(1, Number(values.batch))

type Started = { readonly ready: Promise<unknown>; readonly stop: () => Promise<unknown> }
const startOne = (): Started => {
  if (values.placement === 'process') {
    const proc: ChildProcess = fork(child, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    return {
      ready: once(proc, 'message'),
      stop: () => {
        const exited = once(proc, 'exit')
        proc.kill('SIGKILL')
        return exited
      },
    }
  }
  const worker = new Worker(child)
  return { ready: once(worker, 'message'), stop: () => worker.terminate() }
}

const spawnMs: number[] = []
while (spawnMs.length < spawns) {
  const alive: Started[] = []
  for (let i = 0; i < Math.min(batch, spawns - spawnMs.length); i++) {
    const began = performance.now()
    const started = startOne()
    alive.push(started)
    await started.ready
    spawnMs.push(performance.now() - began)
  }
  await Promise.all(alive.map((a) => a.stop()))
}
process.stdout.write(`${JSON.stringify({ placement: values.placement, spawnMs })}\n`)
