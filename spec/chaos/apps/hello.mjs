/** The chaos suite's good app: hello, as a plain `(req, res)` function. */
export default function hello(_req, res) {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '12' })
  res.end('hello world\n')
}
