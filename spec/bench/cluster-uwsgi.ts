/**
 * The floor of a uwsgi backend in Node: node:cluster with N workers, each accepting on the
 * shared Unix socket itself (`SCHED_NONE`, as troupe's thread workers do) and answering every
 * uwsgi packet with the hello response of hello-node.ts, then closing — no HTTP objects, no
 * parsing of the vars beyond their length. No server written in Node does less per
 * connection, so its ratio to uWSGI bounds what any Node uwsgi backend can reach on the
 * machine (bench:nginx's uwsgi section, the floor row). Not a server to use: it ignores the
 * request.
 * Run: `node spec/bench/cluster-uwsgi.ts [--workers N] --bind unix:PATH`. Prints
 * `cluster-uwsgi: serving on unix:PATH — N workers` on stderr once every worker listens.
 */
import cluster from 'node:cluster'
import net from 'node:net'
import { parseArgs } from 'node:util'
import { body } from './hello-node.ts'

const { values } = parseArgs({
  options: { workers: { type: 'string', default: '2' }, bind: { type: 'string', default: '' } },
})
if (!values.bind.startsWith('unix:')) throw new Error('cluster-uwsgi: --bind unix:PATH')
const path = values.bind.slice('unix:'.length)

const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
)
const HEADER = 4

cluster.schedulingPolicy = cluster.SCHED_NONE
if (cluster.isPrimary) {
  const count = Number(values.workers)
  let listening = 0
  cluster.on('listening', () => {
    if (++listening === count)
      process.stderr.write(`cluster-uwsgi: serving on unix:${path} — ${count} workers (pid ${process.pid})\n`)
  })
  for (let i = 0; i < count; i++) cluster.fork()
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM')
    setTimeout(() => process.exit(0), 2_000).unref()
    cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  const server = net.createServer((socket) => {
    let seen = 0
    let need = Number.POSITIVE_INFINITY
    socket.on('data', (chunk: Buffer) => {
      // The packet's size is in its header (u16 LE at byte 1); a GET through nginx has no body.
      if (seen === 0 && chunk.length >= HEADER) need = HEADER + chunk.readUInt16LE(1)
      seen += chunk.length
      if (seen >= need) socket.end(RESPONSE)
    })
    socket.on('error', () => {})
  })
  server.listen({ path, backlog: 2048 })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
  process.on('SIGINT', () => {})
}
