/**
 * The fetch-style baseline: `@hono/node-server` serving the hello `{ fetch }` app
 * (`hello-fetch.ts`) on bare node:http in one process.
 * Run: `node spec/bench/peer-hono.ts [--bind HOST:PORT]`. Prints `hono: serving on HOST:PORT
 * (pid N)` on stderr when listening; SIGTERM/SIGINT stop it.
 */
import type { Server } from 'node:http'
import { serve } from 'hono-node-server'
import app from './hello-fetch.ts'
import { bindOf, serveUntilSignal } from './peer-server.ts'

const { host, port } = bindOf()
serveUntilSignal('hono', serve({ fetch: app.fetch, hostname: host, port }) as Server)
