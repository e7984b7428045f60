/**
 * The hand-written baseline: node:cluster with N workers serving the hello `(req, res)`
 * handler on one shared port (the primary's default round-robin distribution).
 * Run: `node spec/bench/cluster-hello.ts [--workers N] [--bind HOST:PORT|unix:PATH]` (defaults
 * 4, 127.0.0.1:0). Prints `cluster: serving on ADDR — N workers (pid N)` on stderr once
 * every worker listens; SIGTERM/SIGINT stop it. Workers exit when the primary goes.
 */
import cluster from 'node:cluster'
import http from 'node:http'
import { parseArgs } from 'node:util'
import hello from './hello-node.ts'

const { values } = parseArgs({
  options: { workers: { type: 'string', default: '4' }, bind: { type: 'string', default: '127.0.0.1:0' } },
})
const socketPath = values.bind.startsWith('unix:') ? values.bind.slice('unix:'.length) : undefined
const at = values.bind.lastIndexOf(':')
const host = values.bind.slice(0, at)
const port = Number(values.bind.slice(at + 1))

if (cluster.isPrimary) {
  const count = Number(values.workers)
  const ports = new Set<string>()
  let listening = 0
  let stopping = false
  cluster.on('listening', (_worker, address) => {
    ports.add(socketPath ? `unix:${socketPath}` : `${address.address}:${address.port}`)
    if (++listening === count)
      process.stderr.write(
        `cluster: serving on ${[...ports].join(', ')} — ${count} workers (pid ${process.pid})\n`,
      )
  })
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) process.stderr.write(`cluster: worker ${worker.id} died (${signal ?? code})\n`)
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
  })
  for (let i = 0; i < count; i++) cluster.fork()
  const stop = () => {
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM')
    setTimeout(() => process.exit(0), 5_000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  const server = http.createServer(hello)
  server.listen(socketPath ? { path: socketPath, backlog: 2048 } : { host, port, backlog: 2048 })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', () => {}) // the primary decides
}
