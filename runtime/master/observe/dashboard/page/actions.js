/**
 * The operator's actions: reload, scale, kill a worker, restart an app actor. Each one says
 * exactly what will happen in `dialog#confirm` first, then POSTs to `/actions/NAME` (the
 * header `x-troupe-action: 1` is what the master checks to know the request comes from this
 * page) and shows what came of it in `#outcome`: pending, then ok or the error's code.
 */
import { setAttr, setText } from './dom.js'
import { exitSummary, where } from './format.js'

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`

/** The action's text once it succeeded, from the control API's outcome. */
const said = {
  reload: (o) =>
    `reloaded: generation ${o.generation}, ${plural(o.workers, 'worker')} in ${Math.round(o.durationMs)} ms`,
  scale: (o) =>
    o.from === o.to ? `not scaled: still ${plural(o.to, 'worker')}` : `scaled ${o.from} → ${o.to}`,
  kill: (o) =>
    o.replaced
      ? `${o.worker} killed, replaced (restart ${o.restarts})`
      : `${o.worker} killed (${exitSummary(o.reason)}), not replaced`,
  restart: (o) => `restarted ${o.actor} (restart ${o.restarts}, ${o.state})`,
}

/** POSTs an action; resolves to its ActionAnswer, or a made-up one when the master did not answer one. */
const post = async (name, body) => {
  let res
  try {
    res = await fetch(`/actions/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-troupe-action': '1' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    })
  } catch (error) {
    return { ok: false, code: 'network', message: `the master did not answer (${error.message})` }
  }
  try {
    return await res.json()
  } catch {
    return { ok: false, code: `HTTP ${res.status}`, message: res.statusText || 'the answer was not JSON' }
  }
}

export class Actions {
  #dialog
  #outcome
  #why
  #scaleTo
  #snapshot
  #enabled = false
  #reason = 'waiting for the master'
  #pending = false

  #settled

  /**
   * `elements`: dialog (dialog#confirm), outcome (#outcome), why (where the reason they are off
   * shows), scaleTo (input#scale-to); `snapshot()` the latest Snapshot; `settled(name)` is
   * called when an action has its answer.
   */
  constructor(elements, snapshot, settled = () => {}) {
    this.#settled = settled
    this.#dialog = elements.dialog
    this.#outcome = elements.outcome
    this.#why = elements.why
    this.#scaleTo = elements.scaleTo
    this.#snapshot = snapshot
    document.addEventListener('click', (event) => {
      const button = event.target.closest?.('button[data-action]')
      if (button && !button.disabled) this.#run(button)
    })
    this.#scaleTo.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') document.querySelector('button[data-action="scale"]')?.click()
    })
  }

  /** From a hello: whether actions are offered, and if not why. */
  setAvailability(actions) {
    this.#enabled = actions.enabled
    this.#reason = actions.enabled ? '' : actions.why
    setText(this.#why, this.#reason)
    this.#why.hidden = actions.enabled
  }

  /** Enables or disables every action button on the page (new ones come with each tree redraw). */
  apply() {
    const off = !this.#enabled || this.#pending
    for (const button of document.querySelectorAll('button[data-action]')) {
      button.disabled = off
      setAttr(button, 'title', this.#enabled ? null : this.#reason)
    }
    this.#scaleTo.disabled = !this.#enabled
    setAttr(this.#scaleTo, 'title', this.#enabled ? null : this.#reason)
  }

  /** What a button would do: the request, the question and the texts around it, or an error. */
  #plan(button) {
    const snap = this.#snapshot()
    const workers = snap?.instance.workers ?? 0
    const generation = snap?.instance.generation ?? 0
    switch (button.dataset.action) {
      case 'reload':
        return {
          name: 'reload',
          body: {},
          title: 'Reload the app?',
          text:
            `The master re-reads its config and the app, starts generation ${generation + 1}, and once it is ready ` +
            `drains and stops generation ${generation} (${plural(workers, 'worker')}). Requests in flight finish; none are dropped.`,
          confirm: 'Reload',
          pending: `reloading: starting generation ${generation + 1}…`,
        }
      case 'scale':
      case 'scale-step': {
        const step = button.dataset.step
        const typed = this.#scaleTo.value.trim()
        const to = step ? workers + Number(step) : typed === '' ? Number.NaN : Number(typed)
        if (!Number.isInteger(to)) return { error: 'scale: give a whole number of workers' }
        const change =
          to > workers
            ? `starts ${plural(to - workers, 'new worker')}`
            : to < workers
              ? `drains and stops ${plural(workers - to, 'worker')} (requests in flight finish)`
              : 'changes nothing'
        return {
          name: 'scale',
          body: { workers: step ?? to },
          title: `Scale to ${plural(to, 'worker')}?`,
          text: `The pool goes from ${workers} to ${plural(to, 'worker')}: it ${change}.`,
          confirm: `Scale to ${to}`,
          pending: `scaling ${workers} → ${to}…`,
        }
      }
      case 'kill': {
        const id = button.dataset.worker
        const w = snap?.workers.find((x) => x.id === id)
        const at = w ? ` (${where(w.placement, w.pid, w.threadId)})` : ''
        const inflight =
          w?.inflight === 0
            ? 'no request is in flight on it now'
            : `${w ? `its ${plural(w.inflight, 'request')}` : 'its requests'} in flight fail`
        return {
          name: 'kill',
          body: { worker: id },
          title: `Kill worker ${id}?`,
          text: `Worker ${id}${at} is killed now, without draining: ${inflight}, and the pool starts a replacement.`,
          confirm: `Kill ${id}`,
          pending: `killing ${id}…`,
          danger: true,
        }
      }
      case 'restart': {
        const path = button.dataset.actor
        return {
          name: 'restart',
          body: { actor: path },
          title: `Restart ${path}?`,
          text: `The actor ${path} is stopped gracefully and started again by its supervisor. Messages waiting for it are kept and handled by the new incarnation.`,
          confirm: 'Restart',
          pending: `restarting ${path}…`,
        }
      }
      default:
        return null
    }
  }

  #show(status, text) {
    setAttr(this.#outcome, 'data-status', status)
    setText(this.#outcome, text)
  }

  #confirm(plan) {
    const dialog = this.#dialog
    if (dialog.open) return Promise.resolve(false)
    setText(dialog.querySelector('[data-confirm-title]'), plan.title)
    setText(dialog.querySelector('[data-confirm-text]'), plan.text)
    const yes = dialog.querySelector('button[value="confirm"]')
    setText(yes, plan.confirm)
    setAttr(yes, 'data-danger', plan.danger === true ? 'true' : null)
    dialog.returnValue = ''
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true })
      dialog.showModal()
    })
  }

  async #run(button) {
    const plan = this.#plan(button)
    if (!plan) return
    if (plan.error) return this.#show('error', plan.error)
    if (!(await this.#confirm(plan))) return
    this.#pending = true
    this.apply()
    this.#show('pending', plan.pending)
    try {
      const answer = await post(plan.name, plan.body)
      if (answer?.ok) this.#show('ok', said[plan.name](answer.outcome))
      else this.#show('error', `${answer?.code ?? 'error'}: ${answer?.message ?? 'no answer'}`)
    } finally {
      this.#pending = false
      this.apply()
      this.#settled(plan.name)
    }
  }
}
