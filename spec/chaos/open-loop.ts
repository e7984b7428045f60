/**
 * An open-loop load generator: requests are sent on a schedule (a fixed rate), whether or not
 * earlier ones were answered — the load of many independent clients, which wrk (closed loop:
 * each connection waits for its answer) cannot make. Past a server's capacity the excess has
 * to go somewhere; this is what shows where.
 *
 * Requests go over kept-alive connections, one at a time on each (no pipelining); a request
 * due while every connection is busy opens another, up to `maxConnections`, and past that
 * waits in the client. Latency is counted from when the request was due, not when it was
 * written, so a wait in the client is counted too (no coordinated omission). The connections
 * outlive a run: phases of one client (normal load, overload, normal again) are the same
 * clients sending more or less, and `connect` opens some beforehand, as clients already
 * connected when the load changes.
 */
import net from 'node:net'

export interface OpenLoopPhase {
  /** Requests per second. */
  readonly rate: number
  readonly seconds: number
}

/** One answer: when its request was due (ms since the run began), how long it took from then, its status. */
export interface Answer {
  readonly at: number
  readonly ms: number
  readonly status: number
  readonly retryAfter: boolean
}

export interface OpenLoopResult {
  readonly due: number
  readonly answers: Answer[]
  /** No answer: the connection failed or the request timed out. */
  readonly failed: number
  /** Still unsent or unanswered when the run ended and the timeout passed. */
  readonly lost: number
  /** Most connections open at once. */
  readonly peakConnections: number
  /**
   * The longest the generator's own loop was away (between two of its 1 ms ticks), ms: requests
   * due meanwhile went out late, and their latency, counted from when they were due, includes
   * it — a stall of the client, not of the server.
   */
  readonly clientStallMs: number
}

interface Conn {
  readonly socket: net.Socket
  /** When the request in flight on it was due; -1: idle. */
  dueAt: number
  buffer: string
  /** Resolves a request sent by `connect` rather than by a run. */
  onAnswer: (() => void) | undefined
}

const HEAD_END = '\r\n\r\n'

interface Run {
  readonly start: number
  finished: boolean
  readonly result: {
    due: number
    answers: Answer[]
    failed: number
    lost: number
    peakConnections: number
    clientStallMs: number
  }
}

export class OpenLoopClient {
  readonly #port: number
  readonly #request: string
  readonly #maxConnections: number
  readonly #timeoutMs: number
  readonly #conns = new Set<Conn>()
  readonly #idle: Conn[] = []
  readonly #waiting: number[] = []
  #run: Run | undefined

  constructor(port: number, options: { path?: string; maxConnections?: number; timeoutMs?: number } = {}) {
    this.#port = port
    this.#request = `GET ${options.path ?? '/'} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
    this.#maxConnections = options.maxConnections ?? 512
    this.#timeoutMs = options.timeoutMs ?? 5_000
  }

  /** Opens `n` connections, one after another, each carrying one request to the end, and keeps them. */
  async connect(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const conn = this.#open(performance.now())
      await new Promise<void>((resolve) => {
        conn.onAnswer = resolve
        conn.socket.once('close', () => resolve())
      })
    }
  }

  /** Sends `rate` requests a second for `seconds`, then waits (up to the timeout) for the answers. */
  run(phase: OpenLoopPhase): Promise<OpenLoopResult> {
    const run: Run = {
      start: performance.now(),
      finished: false,
      result: {
        due: 0,
        answers: [],
        failed: 0,
        lost: 0,
        peakConnections: this.#conns.size,
        clientStallMs: 0,
      },
    }
    this.#run = run
    const end = run.start + phase.seconds * 1_000
    const interval = 1_000 / phase.rate
    let next = run.start
    let last = run.start
    return new Promise((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now()
        if (now < end) run.result.clientStallMs = Math.max(run.result.clientStallMs, now - last)
        last = now
        for (const until = Math.min(now, end); next <= until; next += interval) this.#due(next)
        // Requests unanswered past the timeout fail; their connections go.
        for (const conn of this.#conns)
          if (conn.dueAt >= 0 && now - conn.dueAt > this.#timeoutMs) this.#drop(conn)
        if (now < end) return
        run.finished = true
        const outstanding = this.#waiting.length > 0 || [...this.#conns].some((c) => c.dueAt >= 0)
        if (outstanding && now < end + this.#timeoutMs) return
        clearInterval(tick)
        run.result.lost = this.#waiting.length + [...this.#conns].filter((c) => c.dueAt >= 0).length
        this.#waiting.length = 0
        this.#run = undefined
        resolve(run.result)
      }, 1)
    })
  }

  close(): void {
    for (const conn of this.#conns) conn.socket.destroy()
  }

  #due(dueAt: number): void {
    this.#run!.result.due++
    const conn = this.#idle.pop()
    if (conn) this.#send(conn, dueAt)
    else if (this.#conns.size < this.#maxConnections) this.#open(dueAt)
    else this.#waiting.push(dueAt)
  }

  #send(conn: Conn, dueAt: number): void {
    conn.dueAt = dueAt
    conn.socket.write(this.#request)
  }

  #freed(conn: Conn): void {
    conn.dueAt = -1
    const next = this.#waiting.shift()
    if (next !== undefined) this.#send(conn, next)
    else this.#idle.push(conn)
  }

  #drop(conn: Conn): void {
    if (!this.#conns.delete(conn)) return
    if (conn.dueAt >= 0 && this.#run) this.#run.result.failed++
    conn.dueAt = -1
    const at = this.#idle.indexOf(conn)
    if (at >= 0) this.#idle.splice(at, 1)
    conn.socket.destroy()
    // A request that waited for a connection gets a new one.
    if (this.#waiting.length > 0 && this.#run && !this.#run.finished) this.#open(this.#waiting.shift()!)
  }

  #answered(conn: Conn, head: string): void {
    const run = this.#run
    if (conn.onAnswer) {
      conn.onAnswer()
      conn.onAnswer = undefined
    } else if (run)
      run.result.answers.push({
        at: conn.dueAt - run.start,
        ms: performance.now() - conn.dueAt,
        status: Number(head.slice(9, 12)),
        retryAfter: /\r\nretry-after:/i.test(head),
      })
    if (/\r\nconnection: *close/i.test(head)) {
      conn.dueAt = -1
      this.#drop(conn)
      return
    }
    this.#freed(conn)
  }

  #onData(conn: Conn, chunk: string): void {
    conn.buffer += chunk
    for (;;) {
      const headEnd = conn.buffer.indexOf(HEAD_END)
      if (headEnd < 0) return
      const head = conn.buffer.slice(0, headEnd)
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
      const whole = headEnd + HEAD_END.length + length
      if (conn.buffer.length < whole) return
      conn.buffer = conn.buffer.slice(whole)
      this.#answered(conn, head)
    }
  }

  #open(dueAt: number): Conn {
    const socket = net.connect({ host: '127.0.0.1', port: this.#port, noDelay: true })
    const conn: Conn = { socket, dueAt, buffer: '', onAnswer: undefined }
    this.#conns.add(conn)
    if (this.#run)
      this.#run.result.peakConnections = Math.max(this.#run.result.peakConnections, this.#conns.size)
    socket.setEncoding('latin1')
    socket.on('connect', () => socket.write(this.#request))
    socket.on('data', (chunk: string) => this.#onData(conn, chunk))
    socket.on('error', () => this.#drop(conn))
    socket.on('close', () => this.#drop(conn))
    return conn
  }
}

/** The q-quantile (0–1) of a list of numbers, nearest rank; NaN when empty. */
export const quantile = (values: readonly number[], q: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}
