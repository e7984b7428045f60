/**
 * A worker's own log lines go to stderr, as the master's do: in a thread it is forwarded to
 * the master's stderr, in a process it is inherited. Not `process.emitWarning`, which
 * NODE_NO_WARNINGS silences and which has no room for the request. In json format a line is
 * the same record the master writes, made with JSON.stringify: a worker does not load pino.
 */
import type { WorkerLogSettings } from './worker-protocol.ts'

export type WorkerLogLevel = 'debug' | 'info' | 'warn' | 'error'

const rank = { debug: 20, info: 30, warn: 40, error: 50, silent: Number.POSITIVE_INFINITY } as const

let settings: WorkerLogSettings = { format: 'text', level: 'info', name: null }
let worker: string | undefined

/** Set once at the worker's start, from its args. */
export const configureWorkerLog = (next: WorkerLogSettings, id: string): void => {
  settings = next
  worker = id
}

/** `troupe log-level`: the level from now on, until the worker is replaced. */
export const setWorkerLogLevel = (level: WorkerLogSettings['level']): void => {
  settings = { ...settings, level }
}

/** `[TROUPE_W_…]` at the end of a warning line, for the record's `code`. */
const codeOf = (line: string): string | undefined => /\[(TROUPE_[EW]_[A-Z_]+)\]$/m.exec(line)?.[1]

/** One line, at `level`, tagged with a short stable `event` code (`request.error`, `warning`). */
export const say = (line: string, level: WorkerLogLevel = 'info', event = 'log'): void => {
  if (rank[level] < rank[settings.level]) return
  if (settings.format === 'text') {
    process.stderr.write(`troupe: ${line}\n`)
    return
  }
  const code = codeOf(line)
  const record = {
    time: new Date().toISOString(),
    level,
    pid: process.pid,
    ...(settings.name ? { name: settings.name } : {}),
    ...(worker ? { worker } : {}),
    event,
    ...(code ? { code } : {}),
    msg: line,
  }
  process.stderr.write(`${JSON.stringify(record)}\n`)
}
