/**
 * PM2 in cluster mode, run the way a container runs it: `pm2-runtime` in the foreground (its
 * daemon inside this process tree, not detached) with `--instances` copies of the hello
 * `(req, res)` app (pm2-hello.ts) on one port, under a PM2_HOME of its own in a temp directory
 * (removed when it stops) so nothing reaches or leaks into the user's ~/.pm2.
 * Run: `node spec/bench/peer-pm2.ts [--instances N]` (default 2). Prints `pm2: serving on
 * 127.0.0.1:PORT — N workers (pid N)` on stderr once every instance listens and the port
 * answers; SIGTERM/SIGINT stop PM2 and everything it started (see wrapped-server.ts); SIGHUP
 * runs `pm2 reload hello` against it.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { statOf } from './process-tree.ts'
import { serveWrapped } from './wrapped-server.ts'

const { values } = parseArgs({ options: { instances: { type: 'string', default: '2' } } })
const instances = Number(values.instances)
const PREFIX = 'troupe-bench-pm2-'
/** Who owns a PM2_HOME: this process's pid and start time, so a dead owner's is known as such. */
const OWNER = 'owner'
const ownerOf = (pid: number) => `${pid} ${statOf(pid)?.start}`

// A launcher killed outright (the bench's Ctrl-C kills every child with SIGKILL) leaves its
// PM2_HOME behind: the next one removes those whose owner is gone.
for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX))) {
  const dir = join(tmpdir(), name)
  try {
    const owner = readFileSync(join(dir, OWNER), 'utf8')
    if (ownerOf(Number(owner.split(' ')[0])) !== owner) rmSync(dir, { recursive: true, force: true })
  } catch {}
}
const home = mkdtempSync(join(tmpdir(), PREFIX))
writeFileSync(join(home, OWNER), ownerOf(process.pid))
const runtime = fileURLToPath(new URL('../../node_modules/pm2/bin/pm2-runtime', import.meta.url))
const cli = fileURLToPath(new URL('../../node_modules/pm2/bin/pm2', import.meta.url))
const app = fileURLToPath(new URL('./pm2-hello.ts', import.meta.url))

const env = {
  ...process.env,
  PM2_HOME: home,
  // PM2 runs a .ts app with the `node` on the PATH when that one strips types: this one does.
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
}

serveWrapped({
  name: 'pm2',
  argv: (port) => {
    const ecosystem = join(home, 'ecosystem.json')
    writeFileSync(
      ecosystem,
      JSON.stringify({
        apps: [{ name: 'hello', script: app, instances, exec_mode: 'cluster', env: { PORT: String(port) } }],
      }),
    )
    return [process.execPath, runtime, ecosystem]
  },
  env,
  // SIGHUP: PM2's zero-downtime reload of cluster mode, as its users run it (`pm2 reload`).
  reload: () => {
    spawn(process.execPath, [cli, 'reload', 'hello'], { env, stdio: 'ignore' })
  },
  booted: /pm2 app: serving on/,
  workers: instances,
  cleanup: () => rmSync(home, { recursive: true, force: true }),
})
