/**
 * bare-http.ts as plain JavaScript (serving hello-built.mjs): the floor for start-up figures,
 * started as a production server would be, with no type stripping.
 * Run: `node spec/bench/bare-built.mjs [--bind HOST:PORT]`; prints `bare: serving on HOST:PORT (pid N)`.
 */
import http from 'node:http'
import { parseArgs } from 'node:util'
import hello from './hello-built.mjs'

const { values } = parseArgs({ options: { bind: { type: 'string', default: '127.0.0.1:0' } } })
const at = values.bind.lastIndexOf(':')
const server = http.createServer(hello)
server.listen({ host: values.bind.slice(0, at), port: Number(values.bind.slice(at + 1)) }, () => {
  const address = server.address()
  process.stderr.write(`bare: serving on ${address.address}:${address.port} (pid ${process.pid})\n`)
})
const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
