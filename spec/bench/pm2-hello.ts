/**
 * The app PM2 runs in cluster mode (peer-pm2.ts): the hello `(req, res)` handler listening on
 * 127.0.0.1:$PORT. The port comes from the environment because pm2-runtime hands its own
 * arguments on to the app's (a flag would sit among them). Prints `pm2 app: serving on …` once
 * it listens, one line per instance.
 */
import http from 'node:http'
import hello from './hello-node.ts'
import { serveUntilSignal } from './peer-server.ts'

const server = http.createServer(hello)
server.listen({ host: '127.0.0.1', port: Number(process.env.PORT), backlog: 2048 })
serveUntilSignal('pm2 app', server)
