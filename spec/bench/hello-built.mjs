/**
 * The hello `(req, res)` app as plain JavaScript, for start-up figures: a production app is
 * built JavaScript, and a `.ts` app would add Node's type stripper starting in every new
 * thread or process to what is measured.
 */
const body = 'hello world\n'
const length = String(Buffer.byteLength(body))

export default function hello(_req, res) {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': length })
  res.end(body)
}
