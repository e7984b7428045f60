/**
 * A container's process tree without a container runtime: a command started in a fresh PID
 * namespace (`unshare --pid --fork --mount-proc`, root only), where it is PID 1 as in an
 * image. unshare passes no signal on to it: the test signals the namespace's init by its pid
 * out here, as a container runtime does. Everything is read from out here too, through /proc
 * (Linux).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { onTestFinished } from 'vitest'
import { eventually } from './manual-clock.ts'

/** Why a PID namespace cannot be made here, or undefined when it can. */
export const pidNamespaceUnavailable = (): string | undefined => {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' })
  if (probe.status === 0) return undefined
  return `unshare --pid --fork --mount-proc true failed (${probe.error?.message ?? probe.stderr.trim()}); it needs util-linux and root`
}

const readOr = (read: () => string): string | undefined => {
  try {
    return read()
  } catch {
    // The process ended while it was read.
    return undefined
  }
}

/** A process's state letter (`S`, `R`, `Z`…) and parent, as /proc/PID/stat says; undefined once it is gone. */
export const processState = (pid: number): { readonly state: string; readonly ppid: number } | undefined => {
  const stat = readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8'))
  if (stat === undefined) return undefined
  // The command name, in parentheses, may hold spaces: the fields follow its last ')'.
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { state: state!, ppid: Number(ppid) }
}

/** Running: a zombie (exited, not yet reaped by whoever adopted it) is not. */
export const alive = (pid: number): boolean => {
  const state = processState(pid)?.state
  return state !== undefined && state !== 'Z'
}

/** The pid namespace a process lives in (`pid:[4026532]`). */
const namespaceOf = (pid: number) => readOr(() => readlinkSync(`/proc/${pid}/ns/pid`))

/** The pid the innermost namespace gives the process (the last NSpid field). */
const innerPid = (pid: number): number | undefined => {
  const status = readOr(() => readFileSync(`/proc/${pid}/status`, 'utf8'))
  const line = status && /^NSpid:\s+(.+)$/m.exec(status)
  return line ? Number(line[1]!.trim().split(/\s+/).at(-1)) : undefined
}

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** `argv` as PID 1 of a new PID namespace; killed with everything in it when the test ends. */
export class PidNamespace {
  readonly unshare: ChildProcess
  readonly exited: Promise<Exit>
  stderr = ''
  #namespace: string | undefined

  constructor(argv: readonly string[], options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }) {
    // --kill-child: if unshare dies (the cleanup below), the kernel kills the init, and with
    // the init the whole namespace.
    this.unshare = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...argv], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    this.unshare.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) => {
      this.unshare.once('exit', (code, signal) => resolve({ code, signal }))
    })
    onTestFinished(() => {
      if (this.unshare.exitCode === null && this.unshare.signalCode === null) this.unshare.kill('SIGKILL')
    })
  }

  /** The namespace's PID 1, by its pid out here (unshare's one child). */
  async init(): Promise<number> {
    const pid = await eventually(
      () => {
        const children = readOr(() =>
          readdirSync(`/proc/${this.unshare.pid}/task`)
            .map((task) => readFileSync(`/proc/${this.unshare.pid}/task/${task}/children`, 'utf8'))
            .join(' '),
        )
        const [child] = (children ?? '').split(/\s+/).filter(Boolean).map(Number)
        return child !== undefined && innerPid(child) === 1 ? child : undefined
      },
      10_000,
      `the namespace's PID 1 under unshare ${this.unshare.pid}`,
    )
    this.#namespace ??= namespaceOf(pid)
    return pid
  }

  /** The pids (out here) of every process still in the namespace, zombies included. */
  processes(): number[] {
    if (this.#namespace === undefined) throw new Error('call init() first')
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .filter((pid) => namespaceOf(pid) === this.#namespace)
  }

  /** The process the namespace numbers `inner`, by its pid out here. */
  outerPid(inner: number): number | undefined {
    return this.processes().find((pid) => innerPid(pid) === inner)
  }

  /** Waits for a stderr line matching `pattern`; fails early if the namespace ends first. */
  waitForStderr(pattern: RegExp, ms = 15_000): Promise<RegExpExecArray> {
    return eventually(
      () => {
        const match = pattern.exec(this.stderr)
        if (match) return match
        if (this.unshare.exitCode !== null || this.unshare.signalCode !== null)
          throw new Error(`the namespace ended before ${pattern}; stderr:\n${this.stderr}`)
        return undefined
      },
      ms,
      `${pattern} on stderr; so far:\n${this.stderr}`,
    )
  }
}
