/**
 * `troupe top`: the live view of a running master, refreshed every interval, with keys to
 * reload, scale and kill. It paints what top-view.ts decides on the terminal's alternate
 * screen and reads single keys in raw mode; the terminal is given back as it was on every way
 * out. What the master answers (an outcome, an error) goes to the status line, never a stack.
 */
import { ControlUnreachableError } from '../../errors.ts'
import { describeExit } from '../../exit.ts'
import type { KillOutcome, ReloadOutcome, ScaleOutcome, Stats } from '../control/api.ts'
import { connect, type RemoteMaster as Remote } from '../control/connect.ts'
import { type Connection, type ScreenLine, type TopUi, topScreen } from './top-view.ts'

/** The master as top uses it: what connect() returns, the control API over the control socket. */
export type RemoteMaster = Pick<Remote, 'stats' | 'reload' | 'scale' | 'kill' | 'close' | 'closed'>

export interface TopOptions {
  /** The master, connected. */
  readonly master: RemoteMaster
  /** Connects to it again, after it was lost. */
  readonly reconnect: () => Promise<RemoteMaster>
  /** Where the master is (its control socket), for the screen. */
  readonly target: string
  readonly intervalMs: number
  readonly stdin?: NodeJS.ReadStream
  readonly stdout?: NodeJS.WriteStream
  readonly stderr?: NodeJS.WritableStream
}

const ENTER = '\x1b[?1049h\x1b[?25l'
const LEAVE = '\x1b[?25h\x1b[?1049l'
const STYLE: Record<ScreenLine['style'], [string, string]> = {
  plain: ['', ''],
  bold: ['\x1b[1m', '\x1b[0m'],
  inverse: ['\x1b[7m', '\x1b[0m'],
}

/** A stats answer slower than this counts as a master gone (a socket that died may never answer). */
const STATS_TIMEOUT_MS = 5_000

/** The connection itself failed (as opposed to the master refusing what was asked). */
const UNREACHABLE = 'TROUPE_E_CONTROL_UNREACHABLE'

const describeError = (error: unknown): string => {
  const { message, code } = error as { message?: string; code?: string }
  const text = message || String(error)
  return code?.startsWith('TROUPE_E_') ? `${text} [${code}]` : text
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new ControlUnreachableError(`the master did not answer within ${ms / 1_000} s`)),
      ms,
    )
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

const ARROWS: Record<string, 'up' | 'down'> = {
  '\x1b[A': 'up',
  '\x1b[B': 'down',
  // The same keys in the terminal's application cursor mode.
  '\x1bOA': 'up',
  '\x1bOB': 'down',
}

/** The keys one chunk of raw input holds: an arrow arrives as one three-byte sequence. */
const keysOf = (chunk: string): string[] => {
  const keys: string[] = []
  for (let i = 0; i < chunk.length; ) {
    const arrow = ARROWS[chunk.slice(i, i + 3)]
    keys.push(arrow ?? chunk[i]!)
    i += arrow ? 3 : 1
  }
  return keys
}

/** Runs `troupe top` until `q`; resolves to the exit status. */
export const runTop = async (options: TopOptions): Promise<number> => {
  const stdin = options.stdin ?? process.stdin
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  if (!stdout.isTTY || !stdin.isTTY) {
    stderr.write('troupe: top needs a terminal; for a snapshot a script can read, use troupe stats --json\n')
    return 2
  }
  return new TopSession(options, stdin, stdout).run()
}

class TopSession {
  readonly #options: TopOptions
  readonly #stdin: NodeJS.ReadStream
  readonly #stdout: NodeJS.WriteStream
  #master: RemoteMaster | null = null
  #connection: Connection
  #previous: Stats | null = null
  #current: Stats | null = null
  #selected: string | null = null
  #status = ''
  /** The worker a `k` asked to kill, until `y` or another key answers. */
  #confirming: string | null = null
  #polling = false
  #timer: NodeJS.Timeout | undefined
  #finish: (code: number) => void = () => {}
  #restored = false

  constructor(options: TopOptions, stdin: NodeJS.ReadStream, stdout: NodeJS.WriteStream) {
    this.#options = options
    this.#master = this.#watch(options.master)
    this.#stdin = stdin
    this.#stdout = stdout
    this.#connection = { state: 'connecting', target: options.target }
  }

  run(): Promise<number> {
    const finished = new Promise<number>((resolve) => {
      this.#finish = resolve
    })
    this.#stdout.write(ENTER)
    this.#stdin.setRawMode(true)
    this.#stdin.setEncoding('utf8')
    this.#stdin.on('data', this.#onData)
    this.#stdin.resume()
    this.#stdout.on('resize', this.#paint)
    // Raw mode turns Ctrl-C into a key; a signal from elsewhere still ends top, terminal restored.
    process.on('SIGTERM', this.#onTerm)
    process.on('SIGINT', this.#onInt)
    process.on('SIGHUP', this.#onHup)
    process.on('exit', this.#restore)
    this.#paint()
    void this.#poll()
    this.#timer = setInterval(() => void this.#poll(), this.#options.intervalMs)
    return finished
  }

  readonly #onTerm = () => this.#quit(143)
  readonly #onInt = () => this.#quit(130)
  readonly #onHup = () => this.#quit(129)

  #quit(code: number): void {
    clearInterval(this.#timer)
    this.#restore()
    this.#stdin.off('data', this.#onData)
    this.#stdout.off('resize', this.#paint)
    process.off('SIGTERM', this.#onTerm)
    process.off('SIGINT', this.#onInt)
    process.off('SIGHUP', this.#onHup)
    process.off('exit', this.#restore)
    this.#disconnect()
    this.#finish(code)
  }

  /** Gives the terminal back: cooked mode, the cursor, the screen as it was before top. */
  readonly #restore = () => {
    if (this.#restored) return
    this.#restored = true
    this.#stdin.setRawMode(false)
    this.#stdin.pause()
    this.#stdout.write(LEAVE)
  }

  /** A master that stops shows as gone at once, not at the next refresh. */
  #watch(master: RemoteMaster): RemoteMaster {
    void master.closed.then(() => {
      if (this.#master === master) {
        this.#lost('the control connection closed')
        this.#paint()
      }
    })
    return master
  }

  #lost(reason: string): void {
    this.#disconnect()
    this.#previous = null
    this.#connection = { state: 'lost', target: this.#options.target, reason }
  }

  #disconnect(): void {
    const master = this.#master
    this.#master = null
    master?.close()
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#restored) return
    this.#polling = true
    try {
      this.#master ??= this.#watch(await this.#options.reconnect())
      const stats = await within(this.#master.stats(), STATS_TIMEOUT_MS)
      if (this.#restored) return
      this.#previous = this.#current
      this.#current = stats
      this.#connection = { state: 'connected' }
      if (this.#selected && !stats.workers.some((w) => w.id === this.#selected)) this.#selected = null
    } catch (error) {
      // A master that answers with an error is still there: say it, keep the connection.
      if ((error as { code?: string }).code === UNREACHABLE) this.#lost(describeError(error))
      else this.#status = `stats failed: ${describeError(error)}`
    } finally {
      this.#polling = false
    }
    this.#paint()
  }

  readonly #paint = () => {
    if (this.#restored) return
    const width = this.#stdout.columns || 80
    const height = this.#stdout.rows || 24
    const ui: TopUi = { connection: this.#connection, selected: this.#selected, status: this.#status }
    const lines = topScreen({ previous: this.#previous, current: this.#current, width, height, ui })
    const text = lines
      .map(({ text, style }) => {
        const [on, off] = STYLE[style]
        return style === 'inverse' ? `${on}${text.padEnd(width)}${off}` : `${on}${text}${off}\x1b[K`
      })
      .join('\r\n')
    this.#stdout.write(`\x1b[H${text}`)
  }

  #say(status: string): void {
    this.#status = status
    this.#paint()
  }

  readonly #onData = (chunk: string) => {
    for (const key of keysOf(chunk)) this.#key(key)
  }

  #key(key: string): void {
    if (key === 'q' || key === '\x03') this.#quit(0)
    else if (this.#confirming) this.#answer(this.#confirming, key === 'y' || key === 'Y')
    else if (key === 'r') this.#act('reload', 'reloading…', (m) => m.reload(), reloaded)
    else if (key === '+') this.#act('scale +1', 'adding a worker…', (m) => m.scale('+1'), scaled)
    else if (key === '-') this.#act('scale -1', 'removing a worker…', (m) => m.scale('-1'), scaled)
    else if (key === 'up' || key === 'down') this.#move(key === 'up' ? -1 : 1)
    else if (key === 'k') this.#askKill()
  }

  /** `k` asks first: killing a worker drops the requests it has in flight. */
  #askKill(): void {
    const worker = this.#current?.workers.find((w) => w.id === this.#selected)
    if (!worker) this.#say('select a worker with ↑/↓ first, then k kills it')
    else {
      this.#confirming = worker.id
      this.#say(`kill ${worker.id} (pid ${worker.pid ?? '-'})? y/n`)
    }
  }

  #answer(worker: string, yes: boolean): void {
    this.#confirming = null
    if (yes) this.#act(`kill ${worker}`, `killing ${worker}…`, (m) => m.kill(worker), killed)
    else this.#say(`kill ${worker}: cancelled`)
  }

  #move(step: -1 | 1): void {
    const ids = this.#current?.workers.map((w) => w.id) ?? []
    if (ids.length === 0) return
    const at = this.#selected === null ? -1 : ids.indexOf(this.#selected)
    const next =
      at === -1 ? (step === 1 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, at + step))
    this.#selected = ids[next]!
    this.#paint()
  }

  /** Runs an operation: its progress, then its outcome (or its error) on the status line. */
  #act<T>(
    name: string,
    progress: string,
    operation: (master: RemoteMaster) => Promise<T>,
    outcome: (result: T) => string,
  ): void {
    const master = this.#master
    if (!master || this.#connection.state !== 'connected') {
      this.#say('not connected to the master')
      return
    }
    this.#say(progress)
    operation(master).then(
      (result) => {
        this.#say(outcome(result))
        void this.#poll()
      },
      (error: unknown) => this.#say(`${name} failed: ${describeError(error)}`),
    )
  }
}

const reloaded = (o: ReloadOutcome) =>
  `reloaded: generation ${o.generation} serves with ${o.workers} worker(s) (${(o.durationMs / 1_000).toFixed(1)} s)`
const scaled = (o: ScaleOutcome) =>
  o.from === o.to ? `workers stay at ${o.to} (refused, see the master's log)` : `workers ${o.from} → ${o.to}`
const killed = (o: KillOutcome) =>
  `killed ${o.worker} (${describeExit(o.reason)}); ${o.replaced ? `replaced (restart ${o.restarts})` : 'not replaced'}`

/**
 * `troupe top [--control PATH | --name NAME] [--interval SECONDS]`, given the master that
 * runControlCommand connected to; after losing it, top reconnects to the same socket.
 */
export const topCommand = (master: Remote, intervalMs: number): Promise<number> =>
  runTop({
    master,
    reconnect: () => connect({ control: master.path }),
    target: master.path,
    intervalMs,
  })
