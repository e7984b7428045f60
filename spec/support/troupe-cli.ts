/**
 * The `troupe` command run as a user runs it, for tests outside spec/cli.test.ts: a real
 * process from source in a temp directory, an environment without anything troupe reads
 * (plus what the test adds), killed when the test ends if it still runs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'
import { eventually } from './manual-clock.ts'

const cli = fileURLToPath(new URL('../../runtime/master/cli.ts', import.meta.url))

/** A fresh directory (its real path), removed after the test. */
export const tempDir = (): string => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-master-')))
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const cleanEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'PORT' || key === 'WEB_CONCURRENCY' || key === 'NODE_OPTIONS' || key.startsWith('TROUPE_'))
      continue
    env[key] = value
  }
  return { ...env, ...extra }
}

export interface Exit {
  readonly code: number | null
  readonly stderr: string
}

export class TroupeProcess {
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  stderr = ''

  constructor(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [cli, ...args], {
      cwd,
      env: cleanEnv(env),
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code) => resolve({ code, stderr: this.stderr }))
    })
    onTestFinished(() => {
      if (this.running) this.child.kill('SIGKILL')
    })
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal)
  }

  /** Waits for a stderr line matching `pattern` (from `from` on); fails early if the process exits. */
  waitForStderr(pattern: RegExp, ms = 15_000, from = 0): Promise<RegExpExecArray> {
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

  /** The serving line: the TCP port and the whole line. */
  async serving(): Promise<{ readonly port: number; readonly line: string }> {
    const match = await this.waitForStderr(/^troupe: serving .+? on (.+?) — .*$/m)
    const tcp = /127\.0\.0\.1:(\d+)/.exec(match[1]!)
    return { port: tcp ? Number(tcp[1]) : Number.NaN, line: match[0] }
  }

  /** Stops it (TERM) and returns its exit; SIGKILLs it past `ms`. */
  async stop(ms = 10_000): Promise<Exit> {
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms)
    const exit = await this.exited
    clearTimeout(timer)
    return exit
  }
}

/** Runs a command that must end by itself. */
export const runTroupe = async (
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<Exit> => {
  const troupe = new TroupeProcess(args, cwd, env)
  const timer = setTimeout(() => troupe.child.kill('SIGKILL'), 15_000)
  const exit = await troupe.exited
  clearTimeout(timer)
  return exit
}

/** One GET on its own connection: status and body. */
export const get = (
  port: number,
  pathname = '/',
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: pathname, agent: false, timeout: timeoutMs },
      (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          body += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode!, body }))
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error(`no response within ${timeoutMs} ms`)))
    request.on('error', reject)
  })
