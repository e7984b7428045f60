/**
 * Node-style hello world: the `(req, res)` handler troupe serves under kind `coroutine`,
 * and the very handler the bare node:http and node:cluster baselines serve, so the body
 * and headers are byte-for-byte the same.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

export const body = 'hello world\n'
const length = String(Buffer.byteLength(body))

export default function hello(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': length })
  res.end(body)
}
