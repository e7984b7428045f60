/**
 * Runs a server that cannot be told `127.0.0.1:0` (gunicorn, uWSGI) on a port picked free for
 * it, and prints the ready line the bench waits for once it serves (see wrapped-server.ts).
 * Run: `node spec/bench/on-free-port.ts --name NAME [--booted REGEX --workers N] -- COMMAND ARGS…`;
 * `{PORT}` in the arguments becomes the port. With `--booted`, the ready line also waits for
 * `--workers` lines of the server's output matching REGEX (one per worker up). SIGTERM/SIGINT
 * stop the server and everything it started.
 */
import { parseArgs } from 'node:util'
import { serveWrapped } from './wrapped-server.ts'

const { values, positionals } = parseArgs({
  options: {
    name: { type: 'string', default: 'server' },
    booted: { type: 'string' },
    workers: { type: 'string' },
  },
  allowPositionals: true,
})
if (positionals.length === 0) {
  console.error(
    'usage: node spec/bench/on-free-port.ts --name NAME [--booted REGEX --workers N] -- COMMAND ARGS…',
  )
  process.exit(2)
}
serveWrapped({
  name: values.name,
  argv: (port) => positionals.map((arg) => arg.replaceAll('{PORT}', String(port))),
  ...(values.booted === undefined ? {} : { booted: new RegExp(values.booted) }),
  ...(values.workers === undefined ? {} : { workers: Number(values.workers) }),
})
