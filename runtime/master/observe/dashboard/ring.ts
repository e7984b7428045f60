/** A bounded list, oldest first: appending past its size drops the oldest. */
export class Ring<T> {
  readonly #size: number
  #items: T[] = []

  constructor(size: number) {
    this.#size = size
  }

  push(item: T): void {
    this.#items.push(item)
    // Drop in batches: an array's shift() moves every element, once a second that is fine,
    // but there is no need to pay it on every push.
    if (this.#items.length > this.#size * 1.25) this.#items = this.#items.slice(-this.#size)
  }

  get last(): T | undefined {
    return this.#items.at(-1)
  }

  toArray(): T[] {
    return this.#items.slice(-this.#size)
  }
}
