/**
 * The dashboard page: follows the master's feed (`GET /events`, Server-Sent Events) and draws
 * it. A `hello` replaces everything the page holds; a `frame` replaces the snapshot and adds to
 * the history. Drawing happens at most once per animation frame, and not at all while the tab
 * is hidden; the data stays bounded either way.
 */
import { Actions } from './actions.js'
import { DetailsPanel } from './details.js'
import { setAttr, setText } from './dom.js'
import { EVENT_LOG_SIZE, EventLog } from './events.js'
import { History } from './history.js'
import { TotalsView } from './totals.js'
import { TreeView } from './tree.js'

/** A master started a few seconds ago still gets charts a minute wide, not a sliver at the right. */
const MIN_CHART_SLOTS = 60

const $ = (id) => document.getElementById(id)

const state = {
  /** `pid:startedAt` of the master the page shows: another one means it restarted. */
  master: null,
  snapshot: null,
  /** The master's clock minus the page's, so that uptimes tick in the master's time. */
  clockOffset: 0,
  /** The events to draw, oldest first, at most EVENT_LOG_SIZE. */
  events: [],
  eventsReset: false,
  /** The path of the node shown in the details panel. */
  selected: null,
  /** Whether the operator typed in the scale box (then a frame no longer fills it in). */
  scaleEdited: false,
}

const history = new History()
const tree = new TreeView($('tree'))
const log = new EventLog($('events'), $('events-filter'))
const totals = new TotalsView($('totals'), $('instance'))
const details = new DetailsPanel($('details'), () => select(null))
const scaleTo = $('scale-to')
const actions = new Actions(
  { dialog: $('confirm'), outcome: $('outcome'), why: $('actions-why'), scaleTo },
  () => state.snapshot,
  (action) => {
    // Once a scale has its answer, the box shows the pool's count again.
    if (action === 'scale') state.scaleEdited = false
    schedule()
  },
)

/** How long to wait before opening the feed again after EventSource gave up. */
let retryMs = 1_000
let drawPending = false
const schedule = () => {
  if (drawPending) return
  drawPending = true
  requestAnimationFrame(draw)
}

function draw() {
  drawPending = false
  const snapshot = state.snapshot
  if (!snapshot) return
  const now = Date.now() + state.clockOffset
  const workerByPath = new Map(snapshot.workers.map((w) => [w.path, w]))
  // Every chart shares one time axis: the history so far, at least a minute, at most the window.
  const slots = Math.min(history.size, Math.max(MIN_CHART_SLOTS, history.total.length))
  totals.render(snapshot, history, now, slots)
  tree.render({ snapshot, workerByPath, history, now, selected: state.selected, slots })
  details.render(snapshot, state.selected, now)
  if (state.eventsReset) log.reset()
  state.eventsReset = false
  log.render(state.events)
  const title = `${snapshot.instance.name ?? 'troupe'} · troupe dashboard`
  if (document.title !== title) document.title = title
  if (!state.scaleEdited && document.activeElement !== scaleTo)
    scaleTo.value = String(snapshot.instance.workers)
  actions.apply()
}

/** Shows the node at `path` in the details panel; `reveal` scrolls the panel into view if it is off screen (a phone, where it is below the tree). */
function select(path, reveal = false) {
  state.selected = path
  schedule()
  if (!reveal || path === null) return
  requestAnimationFrame(() => {
    const panel = $('details')
    const box = panel.getBoundingClientRect()
    if (box.top < 0 || box.top > window.innerHeight - 40)
      panel.scrollIntoView({
        behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth',
      })
  })
}

const setConnection = (status, text, title) => {
  const el = $('connection')
  setAttr(el, 'data-state', status)
  setText(el, text)
  setAttr(el, 'title', title ?? null)
}

const takeSnapshot = (snapshot) => {
  state.snapshot = snapshot
  state.clockOffset = snapshot.at - Date.now()
}

const onHello = (message) => {
  const hello = JSON.parse(message.data)
  const { pid, startedAt } = hello.snapshot.instance
  const master = `${pid}:${startedAt}`
  const restarted = state.master !== null && state.master !== master
  if (restarted) {
    state.selected = null
    state.scaleEdited = false
  }
  state.master = master
  takeSnapshot(hello.snapshot)
  history.reset(hello)
  state.events = hello.events.slice(-EVENT_LOG_SIZE)
  state.eventsReset = true
  actions.setAvailability(hello.actions)
  retryMs = 1_000
  setConnection('live', '● live', restarted ? `the master restarted: now pid ${pid}` : `master pid ${pid}`)
  schedule()
}

const onFrame = (message) => {
  if (state.master === null) return
  const frame = JSON.parse(message.data)
  takeSnapshot(frame.snapshot)
  history.append(frame)
  if (frame.events.length) {
    state.events.push(...frame.events)
    if (state.events.length > EVENT_LOG_SIZE) state.events.splice(0, state.events.length - EVENT_LOG_SIZE)
  }
  schedule()
}

const connect = () => {
  const source = new EventSource('/events')
  source.addEventListener('hello', onHello)
  source.addEventListener('frame', onFrame)
  source.addEventListener('error', () => {
    setConnection('reconnecting', '↻ reconnecting…', 'the feed dropped; waiting for the master')
    // EventSource retries a dropped stream by itself, but gives up on an HTTP error (a master
    // restarting behind a proxy answers 502): then the page tries again, more slowly each time.
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(connect, retryMs)
      retryMs = Math.min(retryMs * 2, 30_000)
    }
  })
}

$('tree').addEventListener('click', (event) => {
  if (event.target.closest('button')) return
  const node = event.target.closest('[data-node]')
  if (node) select(node.dataset.path === state.selected ? null : node.dataset.path, true)
})
$('tree').addEventListener('keydown', (event) => {
  const node = event.target.closest?.('[data-node]')
  if (node && event.target === node && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault()
    select(node.dataset.path, true)
  }
})
$('events').addEventListener('click', (event) => {
  const subject = event.target.closest('[data-subject]')?.dataset.subject
  if (!subject || !state.snapshot) return
  const worker = state.snapshot.workers.find((w) => w.id === subject)
  select(worker ? worker.path : subject, true)
})
scaleTo.addEventListener('input', () => {
  state.scaleEdited = true
})
// Uptimes tick between frames too (a frame may be late; the page is drawn from the master's clock).
setInterval(schedule, 1_000)

setConnection('connecting', '○ connecting…')
connect()
