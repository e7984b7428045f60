/**
 * The details panel: everything known of the node clicked in the tree, its last exit in full
 * (the crash's error, its stack and causes, the signal…). The live numbers are redrawn each
 * frame; the exit only when it changes, so a stack trace being selected stays selected.
 */
import { h, setText } from './dom.js'
import { bytes, clock, count, DASH, duration, exitDetails, latency, percent, where } from './format.js'
import { memoryText, STATE_GLYPHS } from './tree.js'

const find = (node, path) => {
  if (node.path === path) return node
  for (const child of node.children ?? []) {
    const found = find(child, path)
    if (found) return found
  }
  return null
}

const rows = (list) =>
  h(
    'dl',
    { class: 'facts' },
    ...list.flatMap(([label, value]) => [h('dt', null, label), h('dd', null, value)]),
  )

const liveFacts = (node, worker, now) => {
  const list = [
    ['state', `${STATE_GLYPHS[node.state] ?? '?'} ${node.state}${worker?.draining ? ' (draining)' : ''}`],
    [
      'kind',
      node.kind === 'supervisor'
        ? `supervisor, ${node.strategy ?? DASH}`
        : where(node.placement, node.pid, node.threadId),
    ],
  ]
  if (node.startedAt !== null)
    list.push(['started', `${clock(node.startedAt)} (up ${duration(now - node.startedAt)})`])
  list.push(['restarts', String(node.restarts)])
  if (node.intensity !== undefined)
    list.push(['intensity', `${node.intensity} restarts in ${duration(node.periodMs)}`])
  if (node.mailbox !== undefined) list.push(['mailbox', `${node.mailbox} of ${node.mailboxCapacity ?? DASH}`])
  if (node.lost) list.push(['lost tells', String(node.lost)])
  if (node.memory) list.push(['memory', `${memoryText(node)} (rss ${bytes(node.memory.rss)})`])
  if (worker) {
    list.push(
      ['worker', `${worker.id}, generation ${worker.generation}, ${worker.placement}, ${worker.kind}`],
      ['ELU', percent(worker.elu)],
      [
        'requests',
        `${count(worker.requests)} (${worker.inflight} in flight, ${worker.connections} connections)`,
      ],
      [
        'status',
        Object.entries(worker.status)
          .map(([k, v]) => `${k} ${count(v)}`)
          .join(' · '),
      ],
      [
        'latency',
        worker.latency.count === 0
          ? 'no requests yet'
          : `p50 ${latency(worker.latency.p50Ms)} · p99 ${latency(worker.latency.p99Ms)} · mean ${latency(worker.latency.meanMs)} since start`,
      ],
      ['shed / timeouts', `${worker.shed} / ${worker.timeouts}`],
    )
  }
  return list
}

export class DetailsPanel {
  #panel
  #title
  #live
  #exit
  #exitKey = null

  /** Fills `panel` (hidden while nothing is selected); `onClose` is called by its close button. */
  constructor(panel, onClose) {
    this.#panel = panel
    this.#title = h('h2', null)
    this.#live = h('div')
    this.#exit = h('section', { class: 'last-exit' })
    const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close details' }, '×')
    close.addEventListener('click', onClose)
    panel.replaceChildren(h('header', null, this.#title, close), this.#live, this.#exit)
  }

  /** Draws the node at `path` of `snapshot.tree`, or hides the panel when `path` is null. */
  render(snapshot, path, now) {
    this.#panel.hidden = path === null
    if (path === null) return
    const node = find(snapshot.tree, path)
    setText(this.#title, path)
    if (!node) {
      this.#live.replaceChildren(h('p', { class: 'muted' }, 'This node is gone from the tree.'))
      this.#exit.replaceChildren()
      this.#exitKey = null
      return
    }
    const worker = snapshot.workers.find((w) => w.path === path)
    this.#live.replaceChildren(rows(liveFacts(node, worker, now)))
    const key = JSON.stringify(node.lastExit)
    if (key === this.#exitKey) return
    this.#exitKey = key
    if (!node.lastExit) {
      this.#exit.replaceChildren(
        h('h3', null, 'Last exit'),
        h('p', { class: 'muted' }, 'none since the master started'),
      )
      return
    }
    const list = exitDetails(node.lastExit).map(([label, value]) =>
      label === 'stack' ? [label, h('pre', { class: 'stack' }, value)] : [label, value],
    )
    this.#exit.replaceChildren(h('h3', null, 'Last exit'), rows(list))
  }
}
