/** Small formatters and a column layout for the commands that print what a master reports. */

/** `42s`, `3m05s`, `2h07m`, `4d03h`: the two largest units, as `ps` and `pm2 ls` show uptime. */
export const duration = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '-'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`
}

/** Bytes as MB with one decimal (`48.2MB`), `-` when unknown. */
export const megabytes = (bytes: number | null | undefined): string =>
  bytes === null || bytes === undefined ? '-' : `${(bytes / 1024 / 1024).toFixed(1)}MB`

/** Milliseconds as people read latency: `0.4ms`, `3.2ms`, `35ms`. */
export const millis = (ms: number): string => (ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`)

export const percent = (share: number | null | undefined): string =>
  share === null || share === undefined ? '-' : `${Math.round(share * 100)}%`

export const count = (n: number | null | undefined): string =>
  n === null || n === undefined ? '-' : String(n)

/** Display width, counting each code point once (box-drawing glyphs included), colours not at all. */
const ESC = String.fromCharCode(27)
const COLOUR = new RegExp(`${ESC}\\[[0-9;]*m`, 'g')
const width = (text: string): number => [...text.replace(COLOUR, '')].length

/**
 * Rows as aligned columns, two spaces apart; the last column is not padded. A cell may carry
 * colour codes: alignment counts only what shows.
 */
export const columns = (rows: readonly (readonly string[])[]): string[] => {
  const widths: number[] = []
  for (const row of rows)
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, width(cell))
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('  ')
      .trimEnd(),
  )
}

/** ANSI colour for a TTY, nothing otherwise. */
export const painter =
  (enabled: boolean) =>
  (code: number, text: string): string =>
    enabled ? `\x1b[${code}m${text}\x1b[0m` : text
