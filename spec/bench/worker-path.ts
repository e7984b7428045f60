/**
 * One worker's request path in one process, without the master: a listener hands each
 * connection to a WorkerServer running the app under the coroutine engine, as a worker
 * does. For `--cpu-prof` (a profile of what troupe adds per request) and for comparing with
 * `bare-http.ts` under the same load.
 * Run: `node [--cpu-prof] spec/bench/worker-path.ts APP.ts [--kind thread-pool [--threads N]] [--bind HOST:PORT]`. Prints
 * `worker-path: serving on HOST:PORT (pid N)` on stderr; SIGTERM/SIGINT stop it.
 */
import net from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { coroutineEngine } from '../../actors/http-worker/engines.ts'
import { threadPoolEngine } from '../../actors/http-worker/thread-pool-engine.ts'
import type { WorkerArgs } from '../../actors/http-worker/worker-protocol.ts'
import { WorkerServer } from '../../actors/http-worker/worker-server.ts'
import { loadApp } from '../../apps/app.ts'
import { installFetchGlobals } from '../../transports/http/http-fetch.ts'
import { bindOf, serveUntilSignal } from './peer-server.ts'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { kind: { type: 'string' }, threads: { type: 'string' }, bind: { type: 'string' } },
})
const kind = values.kind === 'thread-pool' ? 'thread-pool' : 'coroutine'
const args: WorkerArgs = {
  app: pathToFileURL(positionals[0] ?? 'spec/bench/hello-fetch.ts').href,
  kind,
  threads: Number(values.threads ?? 1),
  threadQueue: 256,
  connections: 1_000,
  maxQueueDelayMs: 0,
  timeoutMs: 30_000,
  keepAliveMs: 5_000,
  headersTimeoutMs: 10_000,
  maxHeaderSize: 16_384,
  maxHeaders: 100,
  maxBodySize: 1_048_576,
  uwsgi: { maxVarsSize: 65_535, maxVars: 164 },
  proxyAllowFrom: ['127.0.0.1', '::1'],
  forwardedAllowIps: ['127.0.0.1', '::1'],
  maxRequests: 0,
  drainIdleMs: 50,
  generation: 1,
  actorsPath: '/troupe/actors',
  log: { format: 'text', level: 'info', name: null },
  http2: { tls: false, cleartext: false, maxConcurrentStreams: 100 },
}
installFetchGlobals()
const app = await loadApp(args.app)
const ctx = {
  actor: () => {
    throw new Error('no actors here')
  },
  worker: { id: 'w1', generation: 1, pid: process.pid, threadId: 0 },
}
const engine =
  kind === 'thread-pool'
    ? await threadPoolEngine(args, ctx as never, () => {
        throw new Error('no actors here')
      })
    : coroutineEngine(app, ctx as never, args)
const server = new WorkerServer(args, engine.run, { onChange: () => {} })
const { host, port } = bindOf()
const listener = net.createServer({ pauseOnConnect: true }, (socket) => server.accept(socket))
listener.listen({ host, port })
serveUntilSignal('worker-path', listener as never)
