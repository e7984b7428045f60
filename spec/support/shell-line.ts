/**
 * Runs a README shell line the way a user's shell would (`bash -c`), with the project's Node
 * first on the PATH, and checks what the user would see: a serve command logs where it
 * serves, answers HTTP there, and stops cleanly on TERM; any other command exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { onTestFinished } from 'vitest'

/** The test runner's environment without anything troupe reads, with `bins` and this Node first on the PATH. */
export const userEnv = (bins: readonly string[] = []): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'PORT' || key === 'WEB_CONCURRENCY' || key === 'NODE_OPTIONS' || key.startsWith('TROUPE_'))
      continue
    // npm run and vitest leave their own markers; a user's shell has none of them.
    if (key.startsWith('npm_') || key.startsWith('VITEST') || key === 'INIT_CWD') continue
    env[key] = value
  }
  env.PATH = [...bins, path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter)
  return env
}

export interface LineExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A shell line running in its own process group; the whole group is SIGKILLed when the test ends. */
export class ShellLine {
  readonly line: string
  readonly child: ChildProcess
  readonly exited: Promise<LineExit>
  stdout = ''
  stderr = ''

  constructor(line: string, options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }) {
    this.line = line
    this.child = spawn('bash', ['-c', line], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => resolve({ code, signal }))
    })
    onTestFinished(() => {
      try {
        process.kill(-this.child.pid!, 'SIGKILL')
      } catch {
        // The group is gone already.
      }
    })
  }

  get output(): string {
    return `$ ${this.line}\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`
  }

  /** The exit, within `ms`; past it the line is killed and this throws with its output. */
  async exitWithin(ms: number): Promise<LineExit> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms)
    })
    const result = await Promise.race([this.exited, timeout])
    clearTimeout(timer)
    if (result === 'timeout') throw new Error(`did not exit within ${ms} ms\n${this.output}`)
    return result
  }

  /** The master's "serving … on ADDRESSES — … (pid N)" line, once it is logged. */
  async serving(ms: number): Promise<{ readonly addresses: readonly string[]; readonly pid: number }> {
    const deadline = Date.now() + ms
    for (;;) {
      const match = / on (.+?) — .*\(pid (\d+)\)/.exec(this.stderr)
      if (match) return { addresses: match[1]!.split(', '), pid: Number(match[2]) }
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`exited before serving\n${this.output}`)
      if (Date.now() > deadline) throw new Error(`not serving after ${ms} ms\n${this.output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** GET / at a troupe address (`HOST:PORT` or `unix:PATH`): status and body. */
export const getRoot = (address: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const target = address.startsWith('unix:')
      ? { socketPath: address.slice('unix:'.length) }
      : {
          host: address.slice(0, address.lastIndexOf(':')),
          port: Number(address.slice(address.lastIndexOf(':') + 1)),
        }
    const request = http.get({ ...target, path: '/', agent: false }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode!, body }))
    })
    request.on('error', reject)
  })

/**
 * Runs a serve line: it must log where it serves, answer 200 on every address, and exit 0
 * after TERM to the master. Returns the bodies it answered.
 */
export const expectServes = async (line: ShellLine): Promise<string[]> => {
  const { addresses, pid } = await line.serving(90_000)
  const bodies: string[] = []
  for (const address of addresses) {
    const { status, body } = await getRoot(address)
    if (status !== 200) throw new Error(`GET / on ${address} answered ${status}: ${body}\n${line.output}`)
    bodies.push(body)
  }
  process.kill(pid, 'SIGTERM')
  const exit = await line.exitWithin(30_000)
  if (exit.code !== 0) throw new Error(`exited with ${exit.code ?? exit.signal} after TERM\n${line.output}`)
  return bodies
}

/** Runs any other troupe line: it must exit 0. */
export const expectSucceeds = async (line: ShellLine): Promise<void> => {
  const exit = await line.exitWithin(90_000)
  if (exit.code !== 0) throw new Error(`exited with ${exit.code ?? exit.signal}\n${line.output}`)
}
