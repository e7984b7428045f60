/**
 * The `troupe` command as a test runs it: a real process started from source (in a temp
 * directory, with an environment cleared of what troupe reads), its output, its exit.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'
import { eventually } from './manual-clock.ts'

export const cliPath = fileURLToPath(new URL('../../runtime/master/cli.ts', import.meta.url))
export const cliFixture = (name: string) => fileURLToPath(new URL(`../fixtures/cli/${name}`, import.meta.url))

/** Every command must end by itself within this; past it the test fails (and kills it). */
export const EXIT_CAP_MS = 15_000

/** A fresh directory (its real path, as the CLI's `process.cwd()` reports it), removed after the test. */
export const tempDir = (): string => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-cli-')))
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Writes `text` to `dir/name` and returns the file's path. */
export const writeFile = (dir: string, name: string, text: string): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

export interface ScrubOptions {
  /** Also drop what npm run and vitest leave behind (`npm_*`, `VITEST*`, `INIT_CWD`): a user's shell has none of them. */
  readonly asUserShell?: boolean
  /** Directories put first on the PATH, ahead of this Node's (which then comes first too). */
  readonly bins?: readonly string[]
}

/**
 * The test runner's environment without anything troupe reads (`PORT`, `WEB_CONCURRENCY`,
 * `NODE_OPTIONS`, `TROUPE_*`); with `bins`, those and this Node lead the PATH. Logs are asked
 * for as text (`TROUPE_LOG_FORMAT=text`), as a user at a terminal reads them: a test's stderr
 * is a pipe, where the default would be JSON records (spec/logs.test.ts covers those).
 */
export const scrubbedEnv = (options: ScrubOptions = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'PORT' || key === 'WEB_CONCURRENCY' || key === 'NODE_OPTIONS' || key.startsWith('TROUPE_'))
      continue
    if (options.asUserShell && (key.startsWith('npm_') || key.startsWith('VITEST') || key === 'INIT_CWD'))
      continue
    env[key] = value
  }
  env.TROUPE_LOG_FORMAT = 'text'
  if (options.bins)
    env.PATH = [...options.bins, path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter)
  return env
}

/** The test runner's environment without anything troupe reads, plus `extra` (an undefined value unsets). */
export const cleanEnv = (extra: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...scrubbedEnv(), ...extra }
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key]
  return env
}

/** `exited`, or `'timeout'` if it has not settled within `ms` (the timer is cleared either way). */
export const settleWithin = async <T>(exited: Promise<T>, ms: number): Promise<T | 'timeout'> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  try {
    return await Promise.race([exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export interface ServingLine {
  readonly app: string
  readonly addresses: readonly string[]
  /** The master's pid, as the line reports it. */
  readonly pid: number
  readonly line: string
}

/**
 * The master's `troupe[ NAME]: serving APP on ADDR, ADDR — … (pid N…)` line in `stderr`, if it
 * has been logged.
 */
export const parseServing = (stderr: string): ServingLine | undefined => {
  const match = /^troupe(?: \S+)?: serving (.+?) on (.+?) — .*\(pid (\d+)[;)].*$/m.exec(stderr)
  if (!match) return undefined
  return { app: match[1]!, addresses: match[2]!.split(', '), pid: Number(match[3]), line: match[0] }
}

/** How to reach a troupe address as the CLI prints it (`HOST:PORT` or `unix:PATH`). */
export const addressTarget = (
  address: string,
): { readonly host: string; readonly port: number } | { readonly socketPath: string } => {
  if (address.startsWith('unix:')) return { socketPath: address.slice('unix:'.length) }
  const colon = address.lastIndexOf(':')
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) }
}

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly cwd: string
  /** Added to the clean environment; `undefined` unsets (`TROUPE_LOG_FORMAT: undefined`: the default format). */
  readonly env?: Record<string, string | undefined>
}

/** A `troupe` process; SIGKILLed when the test ends if it is still running. */
export class Troupe {
  readonly args: readonly string[]
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  stdout = ''
  stderr = ''
  #signalled: string | undefined

  constructor(args: readonly string[], options: RunOptions) {
    this.args = args
    this.child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const done = () => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })
        // 'close' follows once stdout and stderr are drained; do not wait on it forever.
        const fallback = setTimeout(done, 1_000)
        this.child.once('close', () => {
          clearTimeout(fallback)
          done()
        })
      })
    })
    onTestFinished(() => {
      if (this.running) this.child.kill('SIGKILL')
    })
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  get pid(): number {
    return this.child.pid!
  }

  signal(signal: NodeJS.Signals): void {
    this.#signalled = signal
    this.child.kill(signal)
  }

  /** The exit, which must come within `ms`; otherwise the process is killed and the test fails. */
  async exitWithin(ms: number = EXIT_CAP_MS): Promise<Exit & { readonly ms: number }> {
    const started = performance.now()
    const result = await settleWithin(this.exited, ms)
    if (result === 'timeout') {
      this.child.kill('SIGKILL')
      const after = this.#signalled ? ` after ${this.#signalled}` : ''
      throw new Error(
        `troupe ${this.args.join(' ')} did not exit within ${ms} ms${after}; stderr:\n${this.stderr}`,
      )
    }
    return { ...result, ms: performance.now() - started }
  }

  /** Waits for a stderr line matching `pattern` (from offset `from` on); fails early if the process exits first. */
  async waitForStderr(pattern: RegExp, ms = 10_000, from = 0): Promise<RegExpExecArray> {
    return eventually(
      () => {
        const match = pattern.exec(this.stderr.slice(from))
        if (match) return match
        if (!this.running)
          throw new Error(`troupe exited before printing ${pattern}; stderr:\n${this.stderr}`)
        return undefined
      },
      ms,
      `${pattern} on stderr; so far:\n${this.stderr}`,
    )
  }

  /** Waits for `troupe: serving APP on ADDR, ADDR — ...` and returns the addresses (and the TCP port, if any) and the line. */
  async serving(): Promise<ServingLine & { readonly port: number }> {
    const { addresses, ...rest } = await eventually(
      () => {
        const serving = parseServing(this.stderr)
        if (serving) return serving
        if (!this.running) throw new Error(`troupe exited before serving; stderr:\n${this.stderr}`)
        return undefined
      },
      EXIT_CAP_MS,
      `the serving line on stderr; so far:\n${this.stderr}`,
    )
    const tcp = addresses.map((a) => /^127\.0\.0\.1:(\d+)$/.exec(a)).find(Boolean)
    return { ...rest, addresses, port: tcp ? Number(tcp[1]) : Number.NaN }
  }

  /** Stops it (TERM) and returns its exit, which must come within `ms`. */
  stop(ms = 10_000): Promise<Exit & { readonly ms: number }> {
    this.signal('SIGTERM')
    return this.exitWithin(ms)
  }
}

export const start = (args: readonly string[], options: RunOptions) => new Troupe(args, options)

/** Runs a command that must end by itself within the cap. */
export const run = (args: readonly string[], options: RunOptions) =>
  start(args, options).exitWithin(EXIT_CAP_MS)

export interface Answer {
  readonly status: number
  readonly body: string
}

/** One request on its own connection (no keep-alive), so the acceptor places each one afresh; a bare port is on 127.0.0.1. */
export const get = (
  target: number | { readonly host?: string; readonly port: number } | { readonly socketPath: string },
  pathname = '/',
  timeoutMs = 5_000,
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const where =
      typeof target === 'number'
        ? { host: '127.0.0.1', port: target }
        : 'port' in target
          ? { host: target.host ?? '127.0.0.1', port: target.port }
          : { socketPath: target.socketPath }
    const request = http.get({ ...where, path: pathname, agent: false, timeout: timeoutMs }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode!, body }))
      response.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`no response within ${timeoutMs} ms`)))
    request.on('error', reject)
  })

/** What `ps` shows for a process: its command line as the kernel reports it (Linux). */
export const processTitle = (pid: number): string =>
  fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()

/** The pids of `pid`'s children (Linux). */
export const childPids = (pid: number): number[] =>
  fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // Field 4 of /proc/PID/stat is the parent; the command name (field 2) may hold spaces.
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid
      } catch {
        return false
      }
    })
    .map(Number)

/** A spare process (`spareProcess`), before and after it titles itself. */
export const isSpare = (pid: number): boolean => {
  try {
    const title = processTitle(pid)
    return title.startsWith('troupe: spare') || title.endsWith(' --spare')
  } catch {
    return false
  }
}

/** The pids of a master's worker processes: its children but the spare waiting to replace one. */
export const workerPids = (pid: number): number[] => childPids(pid).filter((child) => !isSpare(child))
