/**
 * Small line charts as inline SVG: one path per series, right-aligned on the history's slots
 * so that a chart fills from the right as samples come in. A null (an interval without
 * requests) breaks the line rather than drawing a zero.
 */
import { s, setAttr, setText } from './dom.js'

const WIDTH = 120
const HEIGHT = 28

/** An empty chart with one path per series name (each gets the class `line NAME` for its colour). */
export const sparkline = (label, names) => {
  const paths = names.map((name) =>
    s('path', { class: `line ${name}`, 'vector-effect': 'non-scaling-stroke' }),
  )
  const title = s('title')
  const svg = s(
    'svg',
    {
      class: 'spark',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': label,
    },
    title,
    ...paths,
  )
  return { svg, paths, title }
}

const pathOf = (values, slots, max) => {
  const step = WIDTH / Math.max(1, slots - 1)
  const offset = slots - values.length
  let d = ''
  let pen = false
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v === null || v === undefined || !Number.isFinite(v)) {
      pen = false
      continue
    }
    const x = (offset + i) * step
    const y = HEIGHT - 1 - (Math.min(v, max) / max) * (HEIGHT - 2)
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`
    pen = true
  }
  return d
}

/**
 * Draws `series` (arrays of numbers or nulls, oldest first, same order as the names) over
 * `slots` samples, all on one scale from zero to their maximum; `caption` is the hover text.
 */
export const drawSparkline = (chart, series, slots, caption) => {
  let max = 0
  for (const values of series)
    for (const v of values) if (v !== null && Number.isFinite(v) && v > max) max = v
  const scale = max > 0 ? max : 1
  series.forEach((values, i) => {
    setAttr(chart.paths[i], 'd', pathOf(values, slots, scale))
  })
  setText(chart.title, caption)
}
