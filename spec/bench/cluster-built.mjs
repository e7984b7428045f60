/**
 * node:cluster as a production app runs it: plain JavaScript (no type stripping in any of its
 * processes) serving hello-built.mjs, SCHED_RR as on Linux by default. The memory scenario's
 * baseline, beside troupe's dist/ serving the same file; cluster-hello.ts is the throughput one.
 * Run: `node spec/bench/cluster-built.mjs [--workers N]` (default 8, on 127.0.0.1 at a free port).
 * Prints `cluster: serving on ADDR — N workers (pid N)` once every worker listens.
 */
import cluster from 'node:cluster'
import http from 'node:http'
import { parseArgs } from 'node:util'
import hello from './hello-built.mjs'

const { values } = parseArgs({ options: { workers: { type: 'string', default: '8' } } })

if (cluster.isPrimary) {
  const count = Number(values.workers)
  let listening = 0
  cluster.on('listening', (_worker, address) => {
    if (++listening === count)
      process.stderr.write(
        `cluster: serving on ${address.address}:${address.port} — ${count} workers (pid ${process.pid})\n`,
      )
  })
  // Port 0 is one port for all: the primary holds one handle per address asked for.
  for (let i = 0; i < count; i++) cluster.fork()
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM')
    setTimeout(() => process.exit(0), 5_000).unref()
  }
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
  })
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  const server = http.createServer(hello)
  server.listen({ host: '127.0.0.1', port: 0, backlog: 2048 })
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  })
  process.on('SIGINT', () => {})
}
