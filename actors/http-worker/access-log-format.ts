/**
 * Access log line formats: the presets (Apache's common and combined, and one JSON record a
 * line) and gunicorn-style templates (`%(h)s %(r)s %(s)s`), compiled once into a function of
 * one finished response. Plain string work only: a worker loads this, not the master's logger.
 */

/** What one access log line is made of: a finished (or cut) response. */
export interface AccessEntry {
  /** Wall-clock time the request arrived, ms since the epoch. */
  readonly startedAt: number
  readonly durationMs: number
  readonly remote: string | undefined
  readonly method: string
  /** The request target as sent: path and query. */
  readonly url: string
  readonly httpVersion: string
  readonly status: number
  /** Body bytes written. */
  readonly bytes: number
  readonly referer: string | undefined
  readonly userAgent: string | undefined
  /** The worker's id (`w1`). */
  readonly worker: string
}

/** The template fields, gunicorn's letters (`%(h)s`); each gives the text for one response. */
const fields: Readonly<Record<string, (e: AccessEntry) => string>> = {
  h: (e) => e.remote ?? '-',
  l: () => '-',
  u: () => '-',
  t: (e) => `[${clfTime(e.startedAt)}]`,
  r: (e) => `${e.method} ${e.url} HTTP/${e.httpVersion}`,
  m: (e) => e.method,
  U: (e) => pathOf(e.url),
  q: (e) => queryOf(e.url),
  H: (e) => `HTTP/${e.httpVersion}`,
  s: (e) => String(e.status),
  b: (e) => (e.bytes > 0 ? String(e.bytes) : '-'),
  B: (e) => String(e.bytes),
  f: (e) => e.referer ?? '-',
  a: (e) => e.userAgent ?? '-',
  T: (e) => String(Math.floor(e.durationMs / 1000)),
  M: (e) => String(Math.round(e.durationMs)),
  D: (e) => String(Math.round(e.durationMs * 1000)),
  L: (e) => (e.durationMs / 1000).toFixed(6),
  p: () => `<${process.pid}>`,
  w: (e) => e.worker,
}

/** The template field letters, for the option's validation and its help. */
export const accessLogFields = Object.keys(fields)

export const accessLogPresets = {
  common: '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s',
  combined: '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
  json: 'json',
} as const

const pathOf = (url: string): string => {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}
const queryOf = (url: string): string => {
  const q = url.indexOf('?')
  return q < 0 ? '' : url.slice(q + 1)
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number) => String(n).padStart(2, '0')
// One string a second: under load thousands of lines share it.
let clfSecond = -1
let clfText = ''
/** Common Log Format time, local: `27/Nov/2026:15:40:01 +0000`. */
export const clfTime = (ms: number): string => {
  const second = Math.floor(ms / 1000)
  if (second === clfSecond) return clfText
  const d = new Date(second * 1000)
  const offset = -d.getTimezoneOffset()
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`
  clfText = `${two(d.getDate())}/${months[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zone}`
  clfSecond = second
  return clfText
}

const TOKEN = /%\(([A-Za-z])\)s/g

/** The field letters a template names that troupe does not know; empty when it is valid. */
export const unknownFields = (template: string): string[] =>
  [...template.matchAll(TOKEN)].map((m) => m[1]!).filter((letter) => !(letter in fields))

/** Is `value` a preset name or a template of known fields (with at least one)? */
export const isAccessLogFormat = (value: string): boolean =>
  value in accessLogPresets || (/%\([A-Za-z]\)s/.test(value) && unknownFields(value).length === 0)

const jsonLine = (e: AccessEntry): string =>
  JSON.stringify({
    time: new Date(e.startedAt).toISOString(),
    remote: e.remote ?? null,
    method: e.method,
    url: e.url,
    protocol: `HTTP/${e.httpVersion}`,
    status: e.status,
    bytes: e.bytes,
    ms: Math.round(e.durationMs * 1000) / 1000,
    referer: e.referer ?? null,
    agent: e.userAgent ?? null,
    worker: e.worker,
  })

/** Whether a format prints the referer or the user agent (combined, json, `%(f)s`, `%(a)s`). */
export const formatNeedsHeaders = (format: string): boolean => {
  const template: string = accessLogPresets[format as keyof typeof accessLogPresets] ?? format
  return template === 'json' || /%\((f|a)\)s/.test(template)
}

/** Compiles a preset name or a template into the function that writes one line (no newline). */
export const compileAccessLogFormat = (format: string): ((entry: AccessEntry) => string) => {
  const template = accessLogPresets[format as keyof typeof accessLogPresets] ?? format
  if (template === 'json') return jsonLine
  // Literal text and field functions, alternating: a line is one pass, no regex per request.
  const parts: (string | ((e: AccessEntry) => string))[] = []
  let last = 0
  for (const match of template.matchAll(TOKEN)) {
    parts.push(template.slice(last, match.index))
    parts.push(fields[match[1]!] ?? (() => match[0]))
    last = match.index + match[0].length
  }
  parts.push(template.slice(last))
  return (entry) => {
    let line = ''
    for (const part of parts) line += typeof part === 'string' ? part : part(entry)
    return line
  }
}
