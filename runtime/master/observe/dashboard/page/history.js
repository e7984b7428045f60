/**
 * The samples the page charts: what `hello` brought, then one of each per frame, trimmed to the
 * feed's history size. A worker that is gone (scaled down, replaced under another id) loses its
 * history at once, so a page left open for days holds no more than the live workers' windows.
 */

const trim = (list, size) => {
  if (list.length > size) list.splice(0, list.length - size)
}

export class History {
  size = 300
  /** @type {object[]} */ total = []
  /** @type {object[]} */ acceptor = []
  /** @type {Map<string, object[]>} */ workers = new Map()

  /** Replaces everything with a hello's history. */
  reset(hello) {
    this.size = Math.max(2, hello.historySize)
    this.total = hello.history.total.slice(-this.size)
    this.acceptor = hello.history.acceptor.slice(-this.size)
    this.workers = new Map(
      Object.entries(hello.history.workers).map(([id, list]) => [id, list.slice(-this.size)]),
    )
  }

  /** Appends a frame's samples; forgets the workers its snapshot no longer has. */
  append(frame) {
    this.total.push(frame.total)
    trim(this.total, this.size)
    this.acceptor.push(frame.acceptor)
    trim(this.acceptor, this.size)
    for (const [id, sample] of Object.entries(frame.workers)) {
      const list = this.workers.get(id) ?? []
      if (list.length === 0) this.workers.set(id, list)
      list.push(sample)
      trim(list, this.size)
    }
    const alive = new Set(frame.snapshot.workers.map((w) => w.id))
    for (const id of this.workers.keys()) if (!alive.has(id)) this.workers.delete(id)
  }
}
