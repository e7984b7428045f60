/**
 * A short plain-text answer of the admin listener (a probe, a refusal): never cached, no body
 * for HEAD. Shared by admin.ts and the dashboard's routes.
 */
import type http from 'node:http'

export const answerText = (
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void => {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}
