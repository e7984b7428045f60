/**
 * The one-process ceiling: a bare node:http server with the hello `(req, res)` handler.
 * Run: `node spec/bench/bare-http.ts [--bind HOST:PORT]` (default 127.0.0.1:0). Prints
 * `bare: serving on HOST:PORT (pid N)` on stderr when listening; SIGTERM/SIGINT stop it.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import hello from './hello-node.ts'

const { values } = parseArgs({ options: { bind: { type: 'string', default: '127.0.0.1:0' } } })
const at = values.bind.lastIndexOf(':')
const host = values.bind.slice(0, at)
const port = Number(values.bind.slice(at + 1))

const server = http.createServer(hello)
server.listen({ host, port, backlog: 2048 }, () => {
  const address = server.address() as AddressInfo
  process.stderr.write(`bare: serving on ${address.address}:${address.port} (pid ${process.pid})\n`)
})
const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
