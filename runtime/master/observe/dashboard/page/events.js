/**
 * The event log pane: newest first, one line per DashEvent, at most as many as the master
 * keeps (EVENT_LOG_SIZE in feed-types.ts), so a page left open for days stays the same size.
 */
import { h } from './dom.js'
import { clock } from './format.js'

/** The contract's EVENT_LOG_SIZE. */
export const EVENT_LOG_SIZE = 500

const matches = (row, needle) => needle === '' || row.dataset.search.includes(needle)

export class EventLog {
  #list
  #filter
  #lastId = Number.NEGATIVE_INFINITY

  /** Draws into `list` (an `<ol>`); `filter`, an input, hides the lines that do not contain its text. */
  constructor(list, filter) {
    this.#list = list
    this.#filter = filter
    filter?.addEventListener('input', () => {
      const needle = this.#needle()
      for (const row of this.#list.children) row.hidden = !matches(row, needle)
    })
  }

  #needle() {
    return (this.#filter?.value ?? '').trim().toLowerCase()
  }

  reset() {
    this.#list.replaceChildren()
    this.#lastId = Number.NEGATIVE_INFINITY
  }

  /** Adds the events of `events` (oldest first) not drawn yet. */
  render(events) {
    let first = events.length
    while (first > 0 && events[first - 1].id > this.#lastId) first--
    if (first === events.length) return
    const needle = this.#needle()
    const rows = []
    for (let i = events.length - 1; i >= first; i--) {
      const row = rowOf(events[i])
      row.hidden = !matches(row, needle)
      rows.push(row)
    }
    this.#list.prepend(...rows)
    this.#lastId = events.at(-1).id
    while (this.#list.children.length > EVENT_LOG_SIZE) this.#list.lastElementChild.remove()
  }
}

const rowOf = (event) => {
  const row = h(
    'li',
    { 'data-event': event.event, 'data-level': event.level, 'data-subject': event.subject ?? null },
    h('time', { datetime: new Date(event.at).toISOString() }, clock(event.at)),
    h('span', { class: 'level' }, event.level),
    h('span', { class: 'code' }, event.event),
    h('span', { class: 'msg' }, event.msg),
  )
  row.dataset.search = `${event.level} ${event.event} ${event.msg} ${event.subject ?? ''}`.toLowerCase()
  return row
}
