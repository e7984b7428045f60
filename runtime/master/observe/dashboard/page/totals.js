/**
 * The header: who the master is (name, pid, version, generation, uptime, ready or draining)
 * and the totals of the last minutes: req/s, p50/p99, errors by status class, the acceptor's
 * queue and refusals, each with a sparkline of the history.
 */
import { h, setAttr, setText } from './dom.js'
import { count, DASH, duration, latency } from './format.js'
import { drawSparkline, sparkline } from './sparkline.js'

const sum = (list, pick) => list.reduce((total, item) => total + (pick(item) ?? 0), 0)

const card = (key, label, chart) => {
  const value = h('span', { class: 'value' })
  const sub = h('span', { class: 'sub' })
  const el = h('div', { class: 'card', 'data-total': key }, h('span', { class: 'label' }, label), value, sub)
  if (chart) el.append(chart.svg)
  return { el, value, sub, chart }
}

export class TotalsView {
  #cards
  #instance

  /** Draws the totals into `totals` and who the master is into `instance`. */
  constructor(totals, instance) {
    this.#cards = {
      rps: card('rps', 'req/s', sparkline('req/s', ['rps'])),
      latency: card('latency', 'latency p50 / p99', sparkline('p50 and p99', ['p50', 'p99'])),
      errors: card('errors', 'errors 4xx / 5xx', sparkline('4xx and 5xx', ['e4xx', 'e5xx'])),
      acceptor: card('acceptor', 'acceptor queue', sparkline('queued and refused', ['queued', 'refused'])),
      workers: card('workers', 'workers', null),
    }
    totals.replaceChildren(...Object.values(this.#cards).map((c) => c.el))
    this.#instance = {
      name: h('span', { class: 'instance-name' }),
      readiness: h('span', { class: 'readiness' }),
      facts: h('span', { class: 'facts-line' }),
    }
    instance.replaceChildren(this.#instance.name, this.#instance.readiness, this.#instance.facts)
  }

  /** `now` is the master's clock (ms), `slots` the history's size. */
  render(snapshot, history, now, slots) {
    const { instance } = snapshot
    const i = this.#instance
    setText(i.name, instance.name ?? 'troupe')
    const readiness = snapshot.draining ? 'draining' : snapshot.ready ? 'ready' : 'not ready'
    setText(i.readiness, readiness)
    setAttr(i.readiness, 'data-readiness', readiness.replace(' ', '-'))
    setText(
      i.facts,
      `pid ${instance.pid} · v${instance.version} · generation ${instance.generation} · up ${duration(now - instance.startedAt)}`,
    )
    setAttr(i.facts, 'title', instance.binds.length ? `serving ${instance.binds.join(', ')}` : null)

    const total = history.total
    const last = total.at(-1)
    const c = this.#cards
    setText(c.rps.value, last ? count(last.rps) : DASH)
    setText(c.rps.sub, `${count(snapshot.totals.requests)} requests since start`)
    drawSparkline(c.rps.chart, [total.map((x) => x.rps)], slots, `req/s over the last ${total.length} s`)

    setText(
      c.latency.value,
      last ? `p50 ${latency(last.p50Ms)} · p99 ${latency(last.p99Ms)}` : `p50 ${DASH} · p99 ${DASH}`,
    )
    setText(c.latency.sub, 'of the last second')
    drawSparkline(
      c.latency.chart,
      [total.map((x) => x.p50Ms), total.map((x) => x.p99Ms)],
      slots,
      `p50 and p99 over the last ${total.length} s`,
    )

    const since = snapshot.totals.status
    setText(
      c.errors.value,
      last ? `4xx ${count(last.status['4xx'])} · 5xx ${count(last.status['5xx'])}` : DASH,
    )
    setText(c.errors.sub, `since start: 4xx ${count(since['4xx'])} · 5xx ${count(since['5xx'])}`)
    setAttr(c.errors.el, 'data-alert', last && last.status['5xx'] > 0 ? 'true' : null)
    drawSparkline(
      c.errors.chart,
      [total.map((x) => x.status['4xx']), total.map((x) => x.status['5xx'])],
      slots,
      `responses 4xx and 5xx per second, last ${total.length} s`,
    )

    const acceptor = history.acceptor
    const sample = acceptor.at(-1)
    const handoff = snapshot.listeners.filter((l) => l.strategy === 'handoff')
    const queued = sample?.queued ?? sum(handoff, (l) => l.queued)
    setText(c.acceptor.value, handoff.length ? `${count(queued)} queued` : 'reuseport')
    setText(
      c.acceptor.sub,
      handoff.length
        ? `refused ${count(sample?.refused ?? 0)} now · ${count(sum(handoff, (l) => l.refused))} since start`
        : 'the kernel balances; no queue in the master',
    )
    setAttr(c.acceptor.el, 'data-alert', sample && sample.refused > 0 ? 'true' : null)
    drawSparkline(
      c.acceptor.chart,
      [acceptor.map((x) => x.queued), acceptor.map((x) => x.refused)],
      slots,
      `queued and refused connections, last ${acceptor.length} s`,
    )

    const serving = snapshot.workers.filter((w) => !w.draining)
    const ready = serving.filter((w) => w.state === 'ready').length
    const draining = snapshot.workers.length - serving.length
    setText(c.workers.value, `${ready}/${serving.length} ready`)
    // Upgraded connections (WebSockets) only where there are some: most apps have none.
    const upgraded = snapshot.workers.reduce((n, w) => n + (w.upgraded ?? 0), 0)
    setText(
      c.workers.sub,
      `${draining ? `${draining} draining · ` : ''}${upgraded ? `${count(upgraded)} upgraded connections · ` : ''}${count(snapshot.totals.restarts)} restarts since start`,
    )
  }
}
