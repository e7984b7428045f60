/**
 * The one-process ceilings for TLS and HTTP/2: the hello `(req, res)` handler on a bare
 * node:https server, a bare node:http2 secure server (h2 by ALPN, HTTP/1.1 allowed), or a bare
 * node:http2 cleartext server (h2c). Run: `node spec/bench/bare-secure.ts --protocol
 * https|h2|h2c [--cert FILE --key FILE] [--bind HOST:PORT]`. Prints `bare: serving on
 * HOST:PORT (pid N)` on stderr when listening; SIGTERM/SIGINT stop it.
 */
import { readFileSync } from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo, Server } from 'node:net'
import { parseArgs } from 'node:util'
import hello from './hello-node.ts'

const { values } = parseArgs({
  options: {
    bind: { type: 'string', default: '127.0.0.1:0' },
    protocol: { type: 'string', default: 'https' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
})
const at = values.bind.lastIndexOf(':')
const host = values.bind.slice(0, at)
const port = Number(values.bind.slice(at + 1))
const tls = () => ({ cert: readFileSync(values.cert!), key: readFileSync(values.key!) })

const handler = hello as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void
const server: Server =
  values.protocol === 'h2'
    ? http2.createSecureServer({ ...tls(), allowHTTP1: true }, handler)
    : values.protocol === 'h2c'
      ? http2.createServer(handler)
      : https.createServer(tls(), hello)
server.listen({ host, port, backlog: 2048 }, () => {
  const address = server.address() as AddressInfo
  process.stderr.write(`bare: serving on ${address.address}:${address.port} (pid ${process.pid})\n`)
})
const stop = () => {
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1_000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
