/**
 * What the launchers of peers that cannot take `127.0.0.1:0` or print troupe's ready line share
 * (on-free-port.ts, peer-pm2.ts): a port picked free for the server, its output passed on to
 * stdout, and on stderr the one line the bench waits for, `NAME: serving on 127.0.0.1:PORT`,
 * once the workers it announces are up and the port answers a request. SIGTERM or SIGINT stops
 * it: the signal to the server, then SIGKILL for whatever of its tree is left after a grace
 * period or once it exits (a daemon, a worker its master forgot), so nothing outlives the
 * launcher.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import http from 'node:http'
import { freePort } from '../support/nginx-config.ts'
import { processTree, statOf } from './process-tree.ts'

export interface Wrapped {
  /** The name on its ready line. */
  readonly name: string
  /** Its command line for the port it is to listen on (127.0.0.1). */
  readonly argv: (port: number) => readonly string[]
  readonly env?: NodeJS.ProcessEnv
  /** A line of its output that says one worker is up; the ready line waits for `workers` of them. */
  readonly booted?: RegExp
  readonly workers?: number
  /** Runs once the server and its tree are gone (a temp directory removed). */
  readonly cleanup?: () => void
  /**
   * How this server reloads its workers, asked by a SIGHUP to the launcher (spec/chaos/ sends
   * the same signal to every server it compares); by default the server gets the SIGHUP itself,
   * which is gunicorn's and uWSGI's reload.
   */
  readonly reload?: (server: ChildProcess) => void
}

/** Past this after the stop signal, whatever is left of the tree is killed. */
const GRACE_MS = 8_000
/** A port taken between the probe and the server's bind is tried again, on a fresh one. */
const ATTEMPTS = 3

/** Whether the port answers an HTTP request (any status: the server's own errors show in wrk's figures). */
const answers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(true))
    })
    request.setTimeout(1_000, () => request.destroy())
    request.on('error', () => resolve(false))
  })

/** Starts `server` on a free port and serves until SIGTERM/SIGINT; exits 0 when stopped, 1 when it died. */
export const serveWrapped = (server: Wrapped): void => {
  /** Every process of its trees seen so far, with its start time (a reused pid is left alone). */
  const seen = new Map<number, string>()
  let current: ChildProcess | undefined
  let stopping = false
  const look = () => {
    if (current?.pid === undefined) return
    for (const pid of processTree(current.pid)) {
      const start = statOf(pid)?.start
      if (start !== undefined) seen.set(pid, start)
    }
  }
  const killLeft = () => {
    for (const [pid, start] of seen)
      if (statOf(pid)?.start === start)
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
  }
  const finish: (code: number) => never = (code) => {
    killLeft()
    server.cleanup?.()
    process.exit(code)
  }
  process.on('exit', () => {
    look()
    killLeft()
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    // Between two attempts there is no server to stop.
    if (!current || current.exitCode !== null || current.signalCode !== null) finish(0)
    look()
    current.kill('SIGTERM')
    setTimeout(() => {
      look()
      killLeft()
    }, GRACE_MS).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () => {
    if (!current || stopping) return
    if (server.reload) server.reload(current)
    else current.kill('SIGHUP')
  })

  const attempt = async (n: number) => {
    const port = await freePort()
    if (stopping) finish(0)
    const argv = server.argv(port)
    const child = spawn(argv[0]!, argv.slice(1), {
      env: server.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    current = child
    let output = ''
    let partial = ''
    let booted = 0
    let ready = false
    const gone = () => child.exitCode !== null || child.signalCode !== null
    const announce = async () => {
      while (!(await answers(port))) {
        if (gone()) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      ready = true
      look()
      const workers = server.workers === undefined ? '' : ` — ${server.workers} workers`
      process.stderr.write(`${server.name}: serving on 127.0.0.1:${port}${workers} (pid ${process.pid})\n`)
    }
    const wanted = server.booted ? (server.workers ?? 1) : 0
    if (wanted === 0) void announce()
    const pass = (chunk: Buffer) => {
      process.stdout.write(chunk)
      if (!ready) output = (output + chunk).slice(-8_000)
      if (booted >= wanted) return
      const lines = (partial + chunk).split('\n')
      partial = lines.pop()!
      for (const line of lines) if (server.booted!.test(line) && ++booted === wanted) void announce()
    }
    child.stdout!.on('data', pass)
    child.stderr!.on('data', pass)
    child.on('error', (error) => {
      process.stderr.write(`${server.name}: ${error.message}\n`)
      finish(1)
    })
    child.on('exit', (code, signal) => {
      if (stopping) finish(0)
      killLeft()
      if (!ready && n < ATTEMPTS && /address already in use|EADDRINUSE/i.test(output)) {
        void attempt(n + 1)
        return
      }
      process.stderr.write(
        `${server.name}: exited (${signal ?? code}) ${ready ? 'while serving' : 'before serving'}\n`,
      )
      finish(1)
    })
  }
  void attempt(1)
}
