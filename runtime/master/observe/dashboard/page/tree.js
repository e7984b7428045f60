/**
 * The supervision tree as nested lists with connecting lines. Each node keeps its elements
 * from frame to frame (keyed by path), so a redraw only changes the texts and attributes that
 * changed; the pool's workers are grouped by generation, an old one draining beside the new.
 */
import { h, setAttr, setText, syncChildren } from './dom.js'
import { bytes, count, DASH, duration, exitSummary, latency, percent, where } from './format.js'
import { drawSparkline, sparkline } from './sparkline.js'

/** A shape per state, so that colour is not the only cue. */
export const STATE_GLYPHS = {
  starting: '◔',
  ready: '●',
  restarting: '↻',
  stopping: '◑',
  stopped: '■',
  failed: '✖',
}

const LABELS = {
  uptime: 'up',
  restarts: 'restarts',
  strategy: 'strategy',
  children: 'children',
  mailbox: 'mailbox',
  memory: 'mem',
  elu: 'ELU',
  rps: 'req/s',
  latency: 'p50/p99',
  inflight: 'in flight',
  upgraded: 'upgraded',
}

const METRICS = {
  root: ['uptime', 'restarts', 'strategy', 'children'],
  supervisor: ['uptime', 'restarts', 'strategy', 'children'],
  pool: ['uptime', 'restarts', 'strategy', 'children'],
  worker: ['uptime', 'restarts', 'rps', 'latency', 'inflight', 'upgraded', 'mailbox', 'memory', 'elu'],
  actor: ['uptime', 'restarts', 'mailbox', 'memory', 'elu'],
}

/** What a node is on the page: the root, a supervisor, the worker pool, a worker or another actor. */
const roleOf = (node, depth, parentRole, workerByPath) => {
  if (depth === 0) return 'root'
  if (node.kind === 'supervisor') return node.strategy === 'pool' ? 'pool' : 'supervisor'
  return parentRole === 'pool' || workerByPath.has(node.path) ? 'worker' : 'actor'
}

/** The generation of a worker node: from the stats, else from what the worker last reported. */
const generationOf = (node, ctx) => {
  const generation = ctx.workerByPath.get(node.path)?.generation ?? node.info?.generation
  return typeof generation === 'number' ? generation : 0
}

/** Thread workers share their process's RSS: their own heap says more. */
export const memoryText = (node) => {
  if (!node.memory) return DASH
  return node.placement === 'thread' ? `${bytes(node.memory.heapUsed)} heap` : `${bytes(node.memory.rss)} rss`
}

const createEntry = (role, isApp) => {
  const badge = h('span', { class: 'state' })
  const name = h('span', { class: 'name' })
  const place = h('span', { class: 'where' })
  const exit = h('span', { class: 'exit', hidden: true })
  const head = h('div', { class: 'head' }, badge, name, place, exit)
  const metrics = {}
  const row = h('div', { class: 'metrics' })
  for (const key of METRICS[role]) {
    metrics[key] = h('span', { class: 'v' })
    row.append(
      h(
        'span',
        { class: 'metric', 'data-metric': key },
        h('span', { class: 'k' }, LABELS[key]),
        metrics[key],
      ),
    )
  }
  const el = h('div', { class: 'node', 'data-node': true, tabindex: 0 }, head, row)
  let button = null
  if (role === 'worker')
    button = h('button', { type: 'button', class: 'danger', 'data-action': 'kill' }, 'Kill')
  else if (isApp) button = h('button', { type: 'button', 'data-action': 'restart' }, 'Restart')
  if (button) head.append(button)
  let charts = null
  if (role === 'worker') {
    charts = {
      rps: sparkline('req/s', ['rps']),
      latency: sparkline('p50 and p99', ['p50', 'p99']),
      drawnAt: -1,
    }
    el.append(
      h(
        'div',
        { class: 'sparks' },
        h('span', { class: 'spark-label' }, 'req/s'),
        charts.rps.svg,
        h('span', { class: 'spark-label' }, 'p50/p99'),
        charts.latency.svg,
      ),
    )
  }
  const li = h('li', { class: 'branch' }, el)
  return {
    role,
    isApp,
    li,
    el,
    badge,
    name,
    place,
    exit,
    metrics,
    button,
    charts,
    children: null,
    groups: null,
  }
}

const supervisorMetrics = (entry, node) => {
  const m = entry.metrics
  const kids = node.children ?? []
  setText(
    m.strategy,
    `${node.strategy ?? DASH}${node.intensity === undefined ? '' : ` ${node.intensity}/${duration(node.periodMs)}`}`,
  )
  setText(m.children, `${kids.filter((c) => c.state === 'ready').length}/${kids.length} ready`)
}

const workerMetrics = (entry, node, w, ctx) => {
  const m = entry.metrics
  const samples = ctx.history.workers.get(w?.id ?? node.name) ?? []
  const last = samples.at(-1)
  setText(m.rps, last ? count(last.rps) : DASH)
  setText(m.latency, last ? `${latency(last.p50Ms)} / ${latency(last.p99Ms)}` : DASH)
  setText(m.inflight, w ? String(w.inflight) : DASH)
  // Upgraded connections (WebSockets) are shown only on a worker that holds some.
  setText(m.upgraded, String(w?.upgraded ?? 0))
  setAttr(m.upgraded.parentElement, 'hidden', !w?.upgraded)
  setText(m.elu, percent(w?.elu))
  const drawnAt = last?.at ?? 0
  if (entry.charts.drawnAt === drawnAt) return
  entry.charts.drawnAt = drawnAt
  const rps = samples.map((x) => x.rps)
  drawSparkline(
    entry.charts.rps,
    [rps],
    ctx.slots,
    `req/s, last ${samples.length} s: now ${count(last?.rps)}`,
  )
  drawSparkline(
    entry.charts.latency,
    [samples.map((x) => x.p50Ms), samples.map((x) => x.p99Ms)],
    ctx.slots,
    `p50 ${latency(last?.p50Ms)}, p99 ${latency(last?.p99Ms)} (last ${samples.length} s)`,
  )
}

const update = (entry, node, ctx) => {
  const { el, role } = entry
  const w = role === 'worker' ? ctx.workerByPath.get(node.path) : undefined
  const draining = w?.draining === true
  setAttr(el, 'data-path', node.path)
  setAttr(el, 'data-kind', node.kind)
  setAttr(el, 'data-role', role)
  setAttr(el, 'data-state', node.state)
  setAttr(el, 'data-restarts', node.restarts)
  setAttr(el, 'data-pid', node.pid ?? w?.pid ?? null)
  setAttr(el, 'data-thread-id', node.threadId ?? w?.threadId ?? null)
  setAttr(el, 'data-selected', ctx.selected === node.path ? 'true' : null)
  setAttr(el, 'aria-current', ctx.selected === node.path ? 'true' : null)
  const summary = node.lastExit ? exitSummary(node.lastExit) : null
  setAttr(el, 'title', summary ? `last exit: ${summary}` : null)
  setText(entry.badge, `${STATE_GLYPHS[node.state] ?? '?'} ${node.state}${draining ? ' · draining' : ''}`)
  setAttr(entry.badge, 'data-draining', draining ? 'true' : null)
  setText(entry.name, node.name)
  const isSupervisor = node.kind === 'supervisor'
  setText(
    entry.place,
    isSupervisor
      ? 'supervisor'
      : `${where(node.placement, node.pid, node.threadId)}${w ? ` · ${w.kind}` : ''}`,
  )
  setAttr(entry.exit, 'hidden', summary === null)
  setText(entry.exit, summary ? `↯ ${summary}` : '')
  const m = entry.metrics
  const up = node.startedAt !== null && node.state !== 'stopped' && node.state !== 'failed'
  setText(m.uptime, up ? duration(ctx.now - node.startedAt) : DASH)
  setText(m.restarts, String(node.restarts))
  if (m.mailbox) setText(m.mailbox, node.mailbox === undefined ? DASH : count(node.mailbox))
  if (m.mailbox) setAttr(m.mailbox, 'title', node.mailboxCapacity ? `capacity ${node.mailboxCapacity}` : null)
  if (m.memory) setText(m.memory, memoryText(node))
  if (m.memory && node.memory)
    setAttr(m.memory, 'title', `rss ${bytes(node.memory.rss)}, heap ${bytes(node.memory.heapUsed)}`)
  if (isSupervisor) supervisorMetrics(entry, node)
  if (role === 'actor') setText(m.elu, DASH)
  if (role === 'worker') {
    const id = w?.id ?? node.name
    setAttr(el, 'data-worker', id)
    setAttr(el, 'data-generation', generationOf(node, ctx))
    setAttr(entry.button, 'data-worker', id)
    setAttr(entry.button, 'aria-label', `Kill worker ${id}`)
    workerMetrics(entry, node, w, ctx)
  }
  if (entry.isApp) {
    setAttr(entry.button, 'data-actor', node.path)
    setAttr(entry.button, 'aria-label', `Restart ${node.path}`)
  }
}

export class TreeView {
  #entries = new Map()
  #root

  /** Draws into `container` (an element of its own: the tree scrolls inside it on a narrow screen). */
  constructor(container) {
    this.#root = h('ul', { class: 'tree' })
    container.replaceChildren(this.#root)
  }

  reset() {
    this.#entries.clear()
    this.#root.replaceChildren()
  }

  /**
   * Draws `ctx.snapshot.tree`. `ctx`: snapshot, workerByPath (WorkerStats by path), history,
   * now (the master's clock, ms), selected (a path or null), slots (the history's size).
   */
  render(ctx) {
    const seen = new Set()
    const appPrefix = `${ctx.snapshot.tree.path}/actors/`
    const li = this.#node(ctx.snapshot.tree, 0, null, { ...ctx, seen, appPrefix })
    syncChildren(this.#root, [li])
    for (const path of this.#entries.keys()) if (!seen.has(path)) this.#entries.delete(path)
  }

  #node(node, depth, parentRole, ctx) {
    const role = roleOf(node, depth, parentRole, ctx.workerByPath)
    const isApp = role === 'actor' && node.path.startsWith(ctx.appPrefix)
    let entry = this.#entries.get(node.path)
    if (!entry || entry.role !== role || entry.isApp !== isApp) {
      entry = createEntry(role, isApp)
      this.#entries.set(node.path, entry)
    }
    ctx.seen.add(node.path)
    update(entry, node, ctx)
    if (node.kind === 'supervisor') {
      if (!entry.children) entry.children = h('ul', { class: 'children' })
      const items = role === 'pool' ? [this.#generations(entry, node, depth, ctx)] : []
      if (role !== 'pool')
        for (const child of node.children ?? []) items.push(this.#node(child, depth + 1, role, ctx))
      syncChildren(entry.children, items)
      syncChildren(entry.li, [entry.el, entry.children])
    }
    return entry.li
  }

  /** The pool's workers, one box per generation alive, oldest first. */
  #generations(entry, node, depth, ctx) {
    if (!entry.groups) {
      entry.groups = new Map()
      entry.groupBox = h('div', { class: 'generations' })
      entry.groupItem = h('li', { class: 'branch' }, entry.groupBox)
    }
    const byGeneration = new Map()
    for (const child of node.children ?? []) {
      const generation = generationOf(child, ctx)
      if (!byGeneration.has(generation)) byGeneration.set(generation, [])
      byGeneration.get(generation).push(child)
    }
    const serving = ctx.snapshot.instance.generation
    const sections = []
    for (const generation of [...byGeneration.keys()].sort((a, b) => a - b)) {
      let group = entry.groups.get(generation)
      if (!group) {
        group = { title: h('h3', { class: 'generation-title' }), list: h('ul', { class: 'children' }) }
        group.section = h(
          'section',
          { class: 'generation', 'data-generation-group': generation },
          group.title,
          group.list,
        )
        entry.groups.set(generation, group)
      }
      const workers = byGeneration.get(generation)
      const draining =
        generation < serving || workers.every((child) => ctx.workerByPath.get(child.path)?.draining === true)
      const ready = workers.filter((child) => child.state === 'ready').length
      setAttr(group.section, 'data-draining', draining ? 'true' : null)
      setText(
        group.title,
        `generation ${generation} · ${draining ? 'draining' : generation > serving ? 'starting' : 'serving'} · ${ready}/${workers.length} ready`,
      )
      syncChildren(
        group.list,
        workers.map((child) => this.#node(child, depth + 1, 'pool', ctx)),
      )
      sections.push(group.section)
    }
    for (const generation of entry.groups.keys())
      if (!byGeneration.has(generation)) entry.groups.delete(generation)
    syncChildren(entry.groupBox, sections)
    return entry.groupItem
  }
}
