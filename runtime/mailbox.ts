/**
 * An actor's mailbox, kept on the sender's side of the boundary (the cell in the parent), so
 * that a full mailbox is refused synchronously. It outlives incarnations: messages wait here
 * while none is ready, and it knows, from the count an incarnation reports as it goes, exactly
 * which messages the incarnation never started, so that those, and only those, go to the next.
 *
 * Every message it accepted ends in one of four ways: processed (the incarnation counted
 * it), handed to the next incarnation, given back by `incarnationEnded`/`close` to be refused
 * (an ask) or counted in `lost` (a tell).
 */
import type { Transferable } from 'node:worker_threads'
import { MailboxFullError } from './errors.ts'

/** A message as the mailbox holds it: tells and asks, with what moves along with them. */
export interface Letter<M extends { readonly t: 'tell' | 'ask' }> {
  readonly message: M
  readonly transfer: readonly Transferable[] | undefined
}

export class Mailbox<M extends { readonly t: 'tell' | 'ask' }> {
  readonly capacity: number
  /** For an incarnation that is ready (none is, at start and during restarts). */
  #waiting: Letter<M>[] = []
  /**
   * Posted to the current incarnation and not yet reported processed, oldest first: a host
   * handles in arrival order, so its processed count says exactly which.
   */
  #sent: Letter<M>[] = []
  #sentHead = 0
  #processed = 0
  #lost = 0

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Messages accepted and not handled yet, waiting or sent. */
  get depth(): number {
    return this.#waiting.length + this.#sent.length - this.#sentHead
  }

  /** Tells that will never be handled: their incarnation died without saying how far it got, or the actor stopped for good. */
  get lost(): number {
    return this.#lost
  }

  /** The sender's check, before anything is posted: refuses at capacity. */
  admit(path: string): void {
    if (this.depth >= this.capacity)
      throw new MailboxFullError(
        `actor ${path} has ${this.depth} messages waiting (capacity ${this.capacity})`,
      )
  }

  /** Keeps a letter until an incarnation is ready. */
  hold(letter: Letter<M>): void {
    this.#waiting.push(letter)
  }

  /** Records a letter posted to the current incarnation. */
  sent(letter: Letter<M>): void {
    this.#sent.push(letter)
  }

  /** Everything that waited, to post to an incarnation that just became ready (oldest first). */
  release(): Letter<M>[] {
    return this.#waiting.splice(0)
  }

  /** What waits for an incarnation (read-only view). */
  get waiting(): readonly Letter<M>[] {
    return this.#waiting
  }

  /** The current incarnation has processed `count` messages since it started (counts only grow). */
  processed(count: number): void {
    if (count <= this.#processed) return
    this.#sentHead += Math.min(count - this.#processed, this.#sent.length - this.#sentHead)
    this.#processed = count
    // Compact now and then rather than shift() per message.
    if (this.#sentHead > 1024 && this.#sentHead * 2 > this.#sent.length) {
      this.#sent = this.#sent.slice(this.#sentHead)
      this.#sentHead = 0
    }
  }

  /**
   * The current incarnation is gone. With an exact count (`exact`: it said how far it got),
   * what it never started goes first in line for the next one, unless its payload was moved
   * away (a transferred buffer or socket cannot be sent twice). Without one, nothing sent to
   * it can be resent: a message it may have been handling when it died could kill the next
   * one too. Returns the letters that will not be delivered; their tells are counted lost,
   * their asks are the caller's to reject.
   */
  incarnationEnded(exact: boolean): Letter<M>[] {
    const unstarted = this.#sent.slice(this.#sentHead)
    this.#sent = []
    this.#sentHead = 0
    this.#processed = 0
    const again: Letter<M>[] = []
    const dropped: Letter<M>[] = []
    for (const letter of unstarted) {
      const movable = !letter.transfer || letter.transfer.length === 0
      if (exact && movable) again.push(letter)
      else dropped.push(letter)
    }
    this.#waiting = [...again, ...this.#waiting]
    this.#countLost(dropped)
    return dropped
  }

  /** No incarnation will come: every waiting letter is given back (tells counted lost, asks to refuse). */
  close(): Letter<M>[] {
    const refused = this.#waiting.splice(0)
    this.#countLost(refused)
    return refused
  }

  #countLost(letters: readonly Letter<M>[]): void {
    for (const { message } of letters) if (message.t === 'tell') this.#lost++
  }
}
