/**
 * An app with a handler that allocates without bound: `GET /leak` keeps 8 MiB of buffers (RSS)
 * and ~12 MB of JS objects (heap) for good, so a worker passes any memory limit in a few
 * requests; every other path answers hello.
 */
const hoard = []

export default function leaky(req, res) {
  if (req.url === '/leak') {
    hoard.push(
      Buffer.alloc(8 * 1024 * 1024, 1),
      Array.from({ length: 400_000 }, (_, i) => ({ i })),
    )
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '12' })
  res.end('hello world\n')
}
