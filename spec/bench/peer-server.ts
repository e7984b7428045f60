/** What the peer servers (bare node:http, @hono/node-server, srvx) share: `--bind`, the ready line, stopping on a signal. */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'

export const bindOf = (): { host: string; port: number } => {
  // Not strict: a script may take options of its own beside --bind.
  const { values } = parseArgs({
    options: { bind: { type: 'string', default: '127.0.0.1:0' } },
    strict: false,
  })
  const bind = String(values.bind)
  const at = bind.lastIndexOf(':')
  return { host: bind.slice(0, at), port: Number(bind.slice(at + 1)) }
}

/** Prints `NAME: serving on HOST:PORT (pid N)` once `server` listens; SIGTERM/SIGINT close it. */
export const serveUntilSignal = (name: string, server: Server): void => {
  const ready = () => {
    const address = server.address() as AddressInfo
    process.stderr.write(`${name}: serving on ${address.address}:${address.port} (pid ${process.pid})\n`)
  }
  if (server.listening) ready()
  else server.once('listening', ready)
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
