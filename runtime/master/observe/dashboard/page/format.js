/** How numbers, durations and exit reasons read on the page. */

/** The latency histogram's last bound: a quantile past it crosses JSON as this + 1. */
const LAST_BOUND_MS = 10_000

export const DASH = '—'

/** Bytes in binary units: `207.9 MB`. */
export const bytes = (n) => {
  if (n === null || n === undefined) return DASH
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

const pad = (n) => String(n).padStart(2, '0')

/** A duration as `troupe tree` prints it: `12s`, `3m14s`, `2h03m`, `4d07h`. */
export const duration = (ms) => {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${pad(s % 60)}s`
  const hours = Math.floor(m / 60)
  if (hours < 24) return `${hours}h${pad(m % 60)}m`
  return `${Math.floor(hours / 24)}d${pad(hours % 24)}h`
}

/** A latency: `0.42 ms`, `3.1 ms`, `41 ms`, `2.5 s`, `>10 s`; `—` when there were no requests. */
export const latency = (ms) => {
  if (ms === null || ms === undefined) return DASH
  if (ms > LAST_BOUND_MS) return `>${LAST_BOUND_MS / 1000} s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 10) return `${Math.round(ms)} ms`
  if (ms >= 1) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(2)} ms`
}

/** A count or a rate, short: `7`, `2.5`, `812`, `12.1k`, `3.4M`. */
export const count = (n) => {
  if (n === null || n === undefined) return DASH
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  if (Number.isInteger(n) || n >= 100) return String(Math.round(n))
  return n.toFixed(1)
}

/** Event-loop utilisation 0–1 as a percentage. */
export const percent = (fraction) =>
  fraction === null || fraction === undefined ? DASH : `${Math.round(fraction * 100)}%`

/** A wall-clock time of day, local: `14:03:27`. */
export const clock = (at) => {
  const d = new Date(at)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** Where an actor runs: `thread 3 · pid 7287`, `process · pid 7301`, `local`. */
export const where = (placement, pid, threadId) => {
  const parts = [placement ?? 'supervisor']
  if (threadId !== null && threadId !== undefined) parts[0] = `${placement} ${threadId}`
  if (pid !== null && pid !== undefined) parts.push(`pid ${pid}`)
  return parts.join(' · ')
}

/** An exit reason in a few words, as the master's log and `troupe tree` say it. */
export const exitSummary = (reason) => {
  switch (reason.kind) {
    case 'crash':
      return `crash: ${reason.error.message}${reason.exitCode === undefined ? '' : ` (exit code ${reason.exitCode})`}`
    case 'killed':
      return `killed by ${reason.signal}`
    case 'timeout':
      return `no heartbeat for ${reason.silentMs} ms`
    case 'memory':
      return `memory: ${reason.detail}`
    case 'recycled':
      return `recycled: ${reason.why}`
    case 'shutdown':
      if (reason.escalated) return `shutdown: ${reason.escalated.message}`
      return reason.forced ? 'shutdown (forced)' : 'shutdown'
    default:
      return reason.kind
  }
}

const errorLines = (label, error, lines, depth = 0) => {
  lines.push([label, `${error.name}${error.code ? ` [${error.code}]` : ''}: ${error.message}`])
  if (error.stack) lines.push(['stack', error.stack])
  if (error.cause && depth < 5) errorLines('caused by', error.cause, lines, depth + 1)
}

/** Every field of an exit reason as label/value lines, for the details panel. */
export const exitDetails = (reason) => {
  const lines = [['kind', reason.kind]]
  switch (reason.kind) {
    case 'crash':
      if (reason.exitCode !== undefined) lines.push(['exit code', String(reason.exitCode)])
      errorLines('error', reason.error, lines)
      break
    case 'killed':
      lines.push(['signal', reason.signal])
      break
    case 'timeout':
      lines.push(['silent for', `${reason.silentMs} ms`])
      break
    case 'memory':
      lines.push(['detail', reason.detail])
      break
    case 'recycled':
      lines.push(['why', reason.why])
      break
    case 'shutdown':
      lines.push(['forced', reason.forced ? 'yes' : 'no'])
      if (reason.escalated) errorLines('escalated', reason.escalated, lines)
      break
  }
  return lines
}
