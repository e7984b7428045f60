import http from 'node:http'
import net from 'node:net'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'

const body = 'hello world\n'
const hello = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '12' })
  res.end(body)
}
const mode = process.argv[2]
if (isMainThread) {
  const w = new Worker(new URL(import.meta.url), { workerData: mode, argv: [mode] })
  if (mode.startsWith('xfer')) {
    const srv = net.createServer({ pauseOnConnect: true, noDelay: mode === 'xfer-nodelay' }, (s) =>
      w.postMessage({ s }, [s]),
    )
    srv.listen(0, '127.0.0.1', () => process.stderr.write(`x: serving on 127.0.0.1:${srv.address().port}\n`))
  } else w.on('message', (m) => process.stderr.write(m))
  process.on('SIGTERM', () => process.exit(0))
} else {
  const server = http.createServer(hello)
  if (workerData.startsWith('xfer'))
    parentPort.on('message', ({ s }) => {
      server.emit('connection', s)
      s.resume()
    })
  else
    server.listen(0, '127.0.0.1', () =>
      parentPort.postMessage(`x: serving on 127.0.0.1:${server.address().port}\n`),
    )
}
