/** Short, fixed-style numbers for `troupe top`'s narrow columns. */

/** `0.4`, `12.5`, `873`, `12.3k`, `1.2M`: one decimal while it is small. */
export const formatCount = (n: number): string => {
  if (n >= 999_950) return `${(n / 1_000_000).toFixed(1)}M`
  if (n >= 9_999.5) return `${(n / 1_000).toFixed(1)}k`
  if (n >= 99.95) return n.toFixed(0)
  return n.toFixed(1)
}

/** `0.4ms`, `41ms`, `1.2s`, `>10s` (past the histogram's last bound). */
export const formatMs = (ms: number | null, lastBoundMs: number): string => {
  if (ms === null) return '-'
  if (ms === Number.POSITIVE_INFINITY) return `>${formatMs(lastBoundMs, lastBoundMs)}`
  if (ms >= 1_000) return `${Number((ms / 1_000).toFixed(1))}s`
  if (ms >= 9.95) return `${ms.toFixed(0)}ms`
  return `${ms.toFixed(1)}ms`
}

/** Cut to `width` columns, with `…` where it was cut: a terminal line must never wrap. */
export const clip = (text: string, width: number): string => {
  const chars = Array.from(text)
  if (chars.length <= width) return text
  if (width <= 0) return ''
  return `${chars.slice(0, width - 1).join('')}…`
}
