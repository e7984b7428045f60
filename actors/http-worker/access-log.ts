/**
 * A worker's access log: each worker appends its own lines to the file (never through the
 * master). The file is opened O_APPEND, so the whole-buffer writes of several threads and
 * processes land whole, one after the other. Responses are noted as they finish; their lines are
 * formatted and written 50 ms after the first one waiting (or sooner past 512): under load one
 * write carries hundreds of lines.
 * `-` is standard output, written to fd 1 directly: in a thread worker `process.stdout`
 * would travel through the main thread.
 */
import fs from 'node:fs'
import { type AccessEntry, compileAccessLogFormat, formatNeedsHeaders } from './access-log-format.ts'

/** Past this many waiting lines they are written at once. */
const FLUSH_AT = 512
/**
 * Otherwise at most this long after the first line waiting, ms (nginx's `flush=` in small).
 * Lines are formatted when they are written, in a batch, off the path of the responses: formatted
 * as each response finished and written every turn of the loop, they cost 7–13% of
 * hello-world throughput.
 */
const FLUSH_EVERY_MS = 50
/** A pipe that is full (EAGAIN) is tried again this much later, ms. */
const RETRY_MS = 10

export class AccessLog {
  /** The worker whose lines these are (`%(w)s`). */
  readonly worker: string
  readonly #target: string
  readonly #format: (entry: AccessEntry) => string
  readonly #onError: (error: Error) => void
  #fd: number
  /** The format prints the referer or the user agent: the worker reads them only then. */
  readonly needsHeaders: boolean
  #buffer = ''
  #entries: AccessEntry[] = []
  #scheduled = false
  #retry: NodeJS.Timeout | undefined
  /**
   * Lines lost since writes began failing (a full disk, a reader of stdout gone), or undefined
   * while they succeed: a failing stretch is reported once, and once more when it ends, rather
   * than at every flush.
   */
  #lost: number | undefined

  /**
   * `target`: a file path, or `-` for standard output. `onError` hears the first write that
   * failed (disk full, reader gone): lines are dropped and serving goes on; it hears again,
   * with the count lost, once a write succeeds.
   */
  constructor(worker: string, target: string, format: string, onError: (error: Error) => void) {
    this.worker = worker
    this.#target = target
    this.#format = compileAccessLogFormat(format)
    this.needsHeaders = formatNeedsHeaders(format)
    this.#onError = onError
    this.#fd = this.#open()
  }

  #open(): number {
    return this.#target === '-' ? 1 : fs.openSync(this.#target, 'a')
  }

  /** Adds the line of one response; it is written by the end of this turn of the event loop. */
  write(entry: AccessEntry): void {
    this.#entries.push(entry)
    if (this.#entries.length >= FLUSH_AT) this.flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      setTimeout(() => {
        this.#scheduled = false
        this.flush()
      }, FLUSH_EVERY_MS)
    }
  }

  /** The lines of the responses noted since the last write, added to what waits to be written. */
  #formatWaiting(): void {
    if (this.#entries.length === 0) return
    const entries = this.#entries
    this.#entries = []
    let text = ''
    for (const entry of entries) text += `${this.#format(entry)}\n`
    this.#buffer += text
  }

  /** Writes what is buffered now. A full pipe keeps the rest for a later try. */
  flush(): void {
    this.#formatWaiting()
    if (this.#buffer === '' || this.#retry) return
    let data = Buffer.from(this.#buffer)
    this.#buffer = ''
    try {
      while (data.length > 0) data = data.subarray(fs.writeSync(this.#fd, data))
      if (this.#lost !== undefined) {
        this.#onError(new Error(`writing again; ${this.#lost} line(s) were lost meanwhile`))
        this.#lost = undefined
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
        const lines = data.toString().split('\n').length - 1
        if (this.#lost === undefined) this.#onError(error as Error)
        this.#lost = (this.#lost ?? 0) + lines
        return
      }
      this.#buffer = data.toString() + this.#buffer
      this.#retry = setTimeout(() => {
        this.#retry = undefined
        this.flush()
      }, RETRY_MS)
    }
  }

  /**
   * USR1 (logrotate): what is buffered goes to the file as it was, then the path is opened
   * afresh, so the next lines land in a new file there if the old one was moved away.
   */
  reopen(): void {
    this.flush()
    if (this.#target === '-') return
    const previous = this.#fd
    try {
      this.#fd = this.#open()
    } catch (error) {
      // The old file stays in use: lines keep landing somewhere.
      this.#onError(error as Error)
      return
    }
    fs.closeSync(previous)
  }

  /** Writes the rest and closes the file (at the worker's stop, after its drain). */
  close(): void {
    clearTimeout(this.#retry)
    this.#retry = undefined
    this.#formatWaiting()
    if (this.#buffer !== '') {
      // The last lines: a full stdout pipe is waited out rather than dropped.
      const data = Buffer.from(this.#buffer)
      this.#buffer = ''
      let rest = data
      while (rest.length > 0) {
        try {
          rest = rest.subarray(fs.writeSync(this.#fd, rest))
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
            this.#onError(error as Error)
            break
          }
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS)
        }
      }
    }
    if (this.#target !== '-') fs.closeSync(this.#fd)
  }
}
