/**
 * Worker spawn-to-ready, measured in-process: starts troupe with one worker, subscribes to
 * `troupe:actor:ready` ({ path, pid, threadId, spawnMs }) and grows the pool with
 * `server.scale()` until `--spawns` more workers came up, shrinking it back to one between
 * batches. Prints one JSON line on stdout:
 * `{ placement, kind, first, spawnMs: number[], scaleMs: number[] }` (first: the worker
 * started with the server; scaleMs: wall time of each one-worker step of scale()).
 * Run: `node spec/bench/spawn-ready.ts [--placement thread|process] [--kind coroutine|threads] [--spawns 20] [--built]`
 * (--built: the server from dist/, as the package ships; run `npx tsup` first).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { resolveConfig } from '../../runtime/master/config.ts'

const { values } = parseArgs({
  options: {
    placement: { type: 'string', default: 'thread' },
    kind: { type: 'string', default: 'coroutine' },
    threads: { type: 'string', default: '1' },
    spawns: { type: 'string', default: '20' },
    batch: { type: 'string', default: '4' },
    app: { type: 'string', default: fileURLToPath(new URL('./hello-fetch.ts', import.meta.url)) },
    built: { type: 'boolean', default: false },
  },
})
// --built: the server (and so every worker it spawns) from dist/, as the package ships, not from
// the TypeScript sources (whose type stripping each new thread or process pays again).
const master = values.built ? '../../dist/index.js' : '../../runtime/master/master.ts'
const { startServer } = (await import(master)) as typeof import('../../runtime/master/master.ts')
const spawns = Number(values.spawns)
const batch = Math.max(1, Number(values.batch))

interface Ready {
  readonly path: string
  readonly pid: number
  readonly threadId: number | null
  readonly spawnMs: number
}
const ready: Ready[] = []
const onReady = (message: unknown) => {
  const event = message as Ready
  if (/^\/troupe\/workers\/w\d+$/.test(event.path)) ready.push(event)
}
subscribe('troupe:actor:ready', onReady)

const { config } = resolveConfig({
  flags: {
    app: values.app,
    bind: ['127.0.0.1:0'],
    workers: 1,
    placement: values.placement,
    kind: values.kind,
    threads: values.threads,
    // Retiring an idle worker between batches should not wait out a long drain.
    gracefulTimeout: 2,
  },
})
const server = await startServer(config, { onFailure: () => process.exit(1) })
const first = ready[0]?.spawnMs ?? Number.NaN
const spawnMs: number[] = []
const scaleMs: number[] = []
try {
  while (spawnMs.length < spawns) {
    const step = Math.min(batch, spawns - spawnMs.length)
    for (let i = 1; i <= step; i++) {
      const before = ready.length
      const began = performance.now()
      await server.scale(1 + i)
      scaleMs.push(performance.now() - began)
      const fresh = ready.slice(before)
      if (fresh.length !== 1) throw new Error(`expected one ready event per scale step, got ${fresh.length}`)
      spawnMs.push(fresh[0]!.spawnMs)
    }
    await server.scale(1)
  }
} finally {
  unsubscribe('troupe:actor:ready', onReady)
  await server.stop({ graceful: false })
}
process.stdout.write(
  `${JSON.stringify({ placement: values.placement, kind: values.kind, first, spawnMs, scaleMs })}\n`,
)
process.exit(0)
