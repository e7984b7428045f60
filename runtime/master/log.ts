/**
 * The master's log: what it says, as entries (level, a short stable event code, the worker
 * it is about, the line), and where they go. A `Logger` is anything pino-shaped — pino
 * itself, or the user's own through `ServeOptions.logger`. The command line writes to
 * stderr: readable lines (`troupe NAME: worker w1 ready (…)`) in text format, one JSON
 * record a line in json format (pino's record, as log pipelines expect it); `auto` is text on
 * a terminal, json otherwise.
 */
import type { logFormats, logLevels } from './options.ts'

/** How severe an entry is. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
/** The least severe level written; `silent` writes nothing. */
export type LogThreshold = (typeof logLevels)[number]
export type LogFormat = (typeof logFormats)[number]

/** The fields of an entry besides its level and line: what a JSON record carries. */
export interface LogFields {
  /** A short stable code: `worker.ready`, `worker.exit`, `reload.done`, `scale`, `warning`… */
  readonly event: string
  /** The worker it is about (`w1`). */
  readonly worker?: string
  /** A warning's `TROUPE_W_…` or an error's `TROUPE_E_…` code. */
  readonly code?: string
  readonly [field: string]: unknown
}

/** One thing the master says. */
export interface LogEntry extends LogFields {
  readonly level: LogLevel
  /** The line as text format writes it (without the `troupe NAME: ` prefix). */
  readonly msg: string
}

/**
 * A pino-compatible logger: `logger.info({ event, worker }, 'worker w1 ready (…)')`. pino's
 * own instances fit, as do its children and most loggers with that calling convention.
 */
export interface Logger {
  debug(fields: LogFields, msg: string): void
  info(fields: LogFields, msg: string): void
  warn(fields: LogFields, msg: string): void
  error(fields: LogFields, msg: string): void
}

const rank: Record<LogThreshold, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity }

/** Does `threshold` let an entry at `level` through? */
export const passes = (level: LogLevel, threshold: LogThreshold): boolean => rank[level] >= rank[threshold]

/** `[TROUPE_W_…]` / `[TROUPE_E_…]` at the end of a line. */
const codeOf = (line: string): string | undefined => /\[(TROUPE_[EW]_[A-Z_]+)\]$/.exec(line)?.[1]

/** An entry for a line: a code at its end (a warning, a coded error) goes into the record too. */
export const entry = (
  level: LogLevel,
  event: string,
  msg: string,
  fields: Partial<LogFields> = {},
): LogEntry => {
  const code = codeOf(msg)
  return { level, event, msg, ...(code ? { code } : {}), ...fields }
}

/** An error as one line: its message, and its code when it is one of troupe's. */
export const describeError = (error: Error): string => {
  const code = (error as { code?: string }).code
  return code?.startsWith('TROUPE_E_') ? `${error.message} [${code}]` : error.message
}

/** A warning line (`warning: … [TROUPE_W_…]`) as an entry. */
export const warningEntry = (line: string): LogEntry => entry('warn', 'warning', line)

/** Hands an entry to a logger: its fields as the object, its line as the message. */
export const send = (logger: Logger, { level, msg, ...fields }: LogEntry): void => {
  logger[level](fields as LogFields, msg)
}

/** `auto` settled for a stream: text on a terminal, json otherwise. */
export const settleFormat = (format: LogFormat, stream: { readonly isTTY?: boolean }): 'text' | 'json' =>
  format === 'auto' ? (stream.isTTY ? 'text' : 'json') : format

/** The text format's logger: `troupe NAME: line` on a stream, entries under the threshold dropped. */
class TextLogger implements Logger {
  threshold: LogThreshold
  readonly #prefix: string
  readonly #write: (text: string) => void

  constructor(prefix: string, threshold: LogThreshold, write: (text: string) => void) {
    this.#prefix = prefix
    this.threshold = threshold
    this.#write = write
  }

  #line(level: LogLevel, msg: string): void {
    if (passes(level, this.threshold)) this.#write(`${this.#prefix}: ${msg}\n`)
  }
  debug(_: LogFields, msg: string): void {
    this.#line('debug', msg)
  }
  info(_: LogFields, msg: string): void {
    this.#line('info', msg)
  }
  warn(_: LogFields, msg: string): void {
    this.#line('warn', msg)
  }
  error(_: LogFields, msg: string): void {
    this.#line('error', msg)
  }
}

/**
 * The json format's logger: one record a line as pino writes one (its level as a label, ISO
 * time, pid, name, the entry's fields, msg). Not pino itself: the master says a few lines, and
 * loading pino was ~5 ms of every start. process.stderr writes synchronously on pipes, files
 * and terminals alike (Linux), so a line written before an exit is not lost.
 */
class JsonLogger implements Logger {
  threshold: LogThreshold
  readonly #base: string

  constructor(threshold: LogThreshold, name: string | null) {
    this.threshold = threshold
    this.#base = `,"pid":${process.pid}${name ? `,"name":${JSON.stringify(name)}` : ''},`
  }

  #record(level: LogLevel, fields: LogFields, msg: string): void {
    if (!passes(level, this.threshold)) return
    const rest = JSON.stringify({ ...fields, msg }).slice(1)
    process.stderr.write(`{"level":"${level}","time":"${new Date().toISOString()}"${this.#base}${rest}\n`)
  }
  debug(fields: LogFields, msg: string): void {
    this.#record('debug', fields, msg)
  }
  info(fields: LogFields, msg: string): void {
    this.#record('info', fields, msg)
  }
  warn(fields: LogFields, msg: string): void {
    this.#record('warn', fields, msg)
  }
  error(fields: LogFields, msg: string): void {
    this.#record('error', fields, msg)
  }
}

export interface MasterLogSettings {
  readonly format: 'text' | 'json'
  readonly level: LogThreshold
  /** The server's --name: in the text prefix (`troupe NAME:`) and the records' `name`. */
  readonly name: string | null
}

/** The master's logger as the command line made it, for setLogLevel to reach. */
let current: { logger: Logger; setLevel: (level: LogThreshold) => void } | undefined

/** Makes the command line's logger on stderr (and makes it the one `setLogLevel` changes). */
export const createMasterLogger = async (settings: MasterLogSettings): Promise<Logger> => {
  const logger =
    settings.format === 'text'
      ? new TextLogger(settings.name ? `troupe ${settings.name}` : 'troupe', settings.level, (text) =>
          process.stderr.write(text),
        )
      : new JsonLogger(settings.level, settings.name)
  current = { logger, setLevel: (level) => (logger.threshold = level) }
  return logger
}

/**
 * Changes the master's log level while it runs (the control API's `setLogLevel`). Workers keep
 * the level they started with until they are replaced (a reload, a recycle).
 */
export const setLogLevel = (level: LogThreshold): void => {
  current?.setLevel(level)
}
