/**
 * The chaos suite's CPU-bound app: 1 ms of CPU per request, so one worker's capacity is about a
 * thousand requests a second, well below what a load generator on the other core can send.
 */
export default function busy(_req, res) {
  const until = performance.now() + 1
  while (performance.now() < until) {}
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' })
  res.end('done\n')
}
