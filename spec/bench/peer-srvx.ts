/**
 * A fetch-style peer: srvx serving the hello `{ fetch }` app (`hello-fetch.ts`) on Node.
 * Run: `node spec/bench/peer-srvx.ts [--bind HOST:PORT]`. Prints `srvx: serving on HOST:PORT
 * (pid N)` on stderr when listening; SIGTERM/SIGINT stop it.
 */
import type { Server } from 'node:http'
import { serve } from 'srvx'
import app from './hello-fetch.ts'
import { bindOf, serveUntilSignal } from './peer-server.ts'

const { host, port } = bindOf()
const server = serve({ fetch: app.fetch, hostname: host, port, silent: true })
await server.ready()
serveUntilSignal('srvx', server.node!.server as Server)
