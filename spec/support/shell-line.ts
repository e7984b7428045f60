/**
 * Runs a README shell line the way a user's shell would (`bash -c`), with the project's Node
 * first on the PATH, and checks what the user would see: a serve command logs where it
 * serves, answers HTTP there, and stops cleanly on TERM; any other command exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { onTestFinished } from 'vitest'
import {
  addressTarget,
  get,
  parseServing,
  type ServingLine,
  scrubbedEnv,
  settleWithin,
} from './troupe-cli.ts'

/** A user's shell's environment: nothing troupe reads, no npm/vitest markers, `bins` and this Node first on the PATH. */
export const userEnv = (bins: readonly string[] = []): NodeJS.ProcessEnv =>
  scrubbedEnv({ asUserShell: true, bins })

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

  /** The exit, within `ms`; past it the line is killed (when the test ends) and this throws with its output. */
  async exitWithin(ms: number): Promise<LineExit> {
    const result = await settleWithin(this.exited, ms)
    if (result === 'timeout') throw new Error(`did not exit within ${ms} ms\n${this.output}`)
    return result
  }

  /** The master's serving line, once it is logged; past `ms` this throws with the line's output so far. */
  async serving(ms: number): Promise<ServingLine> {
    const deadline = Date.now() + ms
    for (;;) {
      const serving = parseServing(this.stderr)
      if (serving) return serving
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`exited before serving\n${this.output}`)
      if (Date.now() > deadline) throw new Error(`not serving after ${ms} ms\n${this.output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/**
 * Runs a serve line: it must log where it serves, answer 200 on every address, and exit 0
 * after TERM to the master. Returns the bodies it answered.
 */
export const expectServes = async (line: ShellLine): Promise<string[]> => {
  const { addresses, pid } = await line.serving(90_000)
  const bodies: string[] = []
  // A uwsgi listener (`uwsgi:ADDR`) speaks nginx's uwsgi_pass, not HTTP: the HTTP binds answer GET.
  for (const address of addresses.filter((a) => !a.startsWith('uwsgi:'))) {
    const { status, body } = await get(addressTarget(address), '/', 30_000)
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
