/**
 * The least a worker can be: node:http serving on a loopback port, then "ready" to whoever
 * started it (a thread's parent port, or a forked process's IPC). spawn-floor.ts times it.
 * node:http is taken as troupe's workers take it (process.getBuiltinModule: an ESM import
 * of node:http also loads undici, 26 ms in a fresh thread here).
 */
import { isMainThread, parentPort } from 'node:worker_threads'

const http = process.getBuiltinModule('node:http')
const server = http.createServer((_req, res) => res.end('hello world\n'))
server.listen(0, '127.0.0.1', () => {
  if (isMainThread) process.send('ready')
  else parentPort.postMessage('ready')
})
// A forked floor goes when its parent does, as troupe's process workers do.
if (isMainThread) process.on('disconnect', () => process.exit(0))
