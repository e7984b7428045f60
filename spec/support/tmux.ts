/**
 * A real terminal for a test: a detached tmux session of a fixed size on a private tmux server
 * (`tmux -L NAME`), driven with send-keys and read with capture-pane. The server and its
 * socket are removed when the test ends.
 */
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { promisify } from 'node:util'
import { onTestFinished } from 'vitest'

const run = promisify(execFile)

/** Why tmux cannot be used here, or null when it can. */
export const tmuxMissing = (): string | null => {
  const probe = spawnSync('tmux', ['-V'], { encoding: 'utf8' })
  return probe.error || probe.status !== 0
    ? `tmux is not installed (${probe.error?.message ?? probe.stderr})`
    : null
}

export interface TmuxOptions {
  readonly width: number
  readonly height: number
  /** The shell's environment (the tmux server's, as it starts with this session). */
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
}

/** The prompt of the session's shell: what the pane shows once a command gave it back. */
export const PROMPT = 'shell$'

export class TmuxSession {
  readonly #server: string
  readonly #target = 'test'

  private constructor(server: string) {
    this.#server = server
  }

  /** A session running `sh` (prompt PROMPT) in a `width`×`height` terminal. */
  static async start(options: TmuxOptions): Promise<TmuxSession> {
    const server = `troupe-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`
    const session = new TmuxSession(server)
    let socket: string | undefined
    onTestFinished(async () => {
      await session.#tmux('kill-server').catch(() => {})
      if (socket) fs.rmSync(socket, { force: true })
    })
    await run(
      'tmux',
      [
        '-L',
        server,
        '-f',
        '/dev/null',
        'new-session',
        '-d',
        '-s',
        session.#target,
        '-x',
        String(options.width),
        '-y',
        String(options.height),
        'sh',
      ],
      { env: options.env, cwd: options.cwd },
    )
    socket = (await session.#tmux('display-message', '-p', '-t', session.#target, '#{socket_path}')).trim()
    // Set here rather than through the environment: dash, as root, sets its own PS1 ('# ').
    await session.type(`PS1='${PROMPT} '; clear`)
    await session.press('Enter')
    await session.waitFor((screen) => screen[0] === PROMPT, 'the shell prompt')
    return session
  }

  async #tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.#server, ...args], { encoding: 'utf8' })
    return stdout
  }

  /** Types `text` as it is (no key names). */
  async type(text: string): Promise<void> {
    await this.#tmux('send-keys', '-t', this.#target, '-l', text)
  }

  /** Presses named keys (`Enter`, `Down`, `C-c`). */
  async press(...keys: string[]): Promise<void> {
    await this.#tmux('send-keys', '-t', this.#target, ...keys)
  }

  /** Resizes the terminal, as a user dragging its window does (the program gets SIGWINCH). */
  async resize(width: number, height: number): Promise<void> {
    await this.#tmux('resize-window', '-t', this.#target, '-x', String(width), '-y', String(height))
  }

  /** What the pane shows now, one string per row (a wrapped line joined), trailing blanks cut. */
  async screen(): Promise<string[]> {
    const text = await this.#tmux('capture-pane', '-p', '-J', '-t', this.#target)
    return text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => l.trimEnd())
  }

  /** Polls the pane until `check` finds what it looks for in it; fails with the last screen. */
  async waitFor<T>(
    check: (screen: string[]) => T | undefined | false,
    what: string,
    ms = 20_000,
  ): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const screen = await this.screen()
      const found = check(screen)
      if (found) return found
      if (Date.now() > deadline)
        throw new Error(`timed out after ${ms} ms waiting for ${what}; the pane shows:\n${screen.join('\n')}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}
