/**
 * The mailbox on its own: bounded at the sender, counted by the processed counts an
 * incarnation reports, and exact about what goes to the next incarnation.
 */
import { describe, expect, it } from 'vitest'
import { type Letter, Mailbox } from '../runtime/mailbox.ts'

type Work = { readonly t: 'tell'; readonly n: number } | { readonly t: 'ask'; readonly n: number }
const tell = (n: number): Letter<Work> => ({ message: { t: 'tell', n }, transfer: undefined })
const ask = (n: number): Letter<Work> => ({ message: { t: 'ask', n }, transfer: undefined })
const ns = (letters: readonly Letter<Work>[]) => letters.map((l) => l.message.n)

/** A mailbox with `sent` letters posted to a live incarnation. */
const withSent = (letters: Letter<Work>[], capacity = 100) => {
  const mailbox = new Mailbox<Work>(capacity)
  for (const letter of letters) {
    mailbox.admit('/t/a')
    mailbox.sent(letter)
  }
  return mailbox
}

describe('capacity, counted at the sender', () => {
  it('admits up to capacity, waiting and sent alike, then refuses with TROUPE_E_MAILBOX_FULL', () => {
    const mailbox = new Mailbox<Work>(3)
    mailbox.admit('/t/a')
    mailbox.hold(tell(1))
    mailbox.admit('/t/a')
    mailbox.sent(tell(2))
    mailbox.admit('/t/a')
    mailbox.sent(ask(3))
    expect(mailbox.depth).toBe(3)
    expect(() => mailbox.admit('/t/a')).toThrow(
      expect.objectContaining({
        code: 'TROUPE_E_MAILBOX_FULL',
        message: expect.stringContaining('capacity 3'),
      }),
    )
  })

  it('has room again as the incarnation reports messages processed', () => {
    const mailbox = withSent([tell(1), tell(2)], 2)
    expect(() => mailbox.admit('/t/a')).toThrow()
    mailbox.processed(1)
    expect(mailbox.depth).toBe(1)
    expect(() => mailbox.admit('/t/a')).not.toThrow()
  })
})

describe('acks', () => {
  it('counts only grow: a stale or repeated count changes nothing', () => {
    const mailbox = withSent([tell(1), tell(2), tell(3)])
    mailbox.processed(2)
    mailbox.processed(1)
    mailbox.processed(2)
    expect(mailbox.depth).toBe(1)
  })

  it('stays exact past the compaction of a long run of acks', () => {
    const mailbox = withSent(
      Array.from({ length: 3000 }, (_, i) => tell(i)),
      5000,
    )
    for (let processed = 1; processed <= 2500; processed++) mailbox.processed(processed)
    expect(mailbox.depth).toBe(500)
    expect(ns(mailbox.incarnationEnded(true))).toEqual([])
    expect(ns(mailbox.release())).toEqual(Array.from({ length: 500 }, (_, i) => 2500 + i))
  })
})

describe('redelivery after an exit', () => {
  it('with an exact count, exactly the unstarted messages go to the next incarnation, first in line', () => {
    const mailbox = withSent([tell(1), ask(2), tell(3), ask(4)])
    mailbox.hold(tell(5)) // sent while the incarnation was ending
    mailbox.processed(2)
    const dropped = mailbox.incarnationEnded(true)
    expect(dropped).toEqual([])
    expect(mailbox.depth).toBe(3)
    expect(ns(mailbox.release())).toEqual([3, 4, 5])
    expect(mailbox.lost).toBe(0)
    expect(mailbox.depth).toBe(0)
  })

  it('a payload that was moved away is not sent twice: dropped, its tell counted lost', () => {
    const buffer = new ArrayBuffer(8)
    const mailbox = withSent([tell(1), { message: { t: 'tell', n: 2 }, transfer: [buffer] }, ask(3)])
    const dropped = mailbox.incarnationEnded(true)
    expect(ns(dropped)).toEqual([2])
    expect(mailbox.lost).toBe(1)
    expect(ns(mailbox.release())).toEqual([1, 3])
  })

  it('without an exact count nothing is resent: tells are lost, asks handed back to refuse', () => {
    const mailbox = withSent([tell(1), ask(2), tell(3), tell(4)])
    mailbox.processed(1)
    mailbox.hold(ask(5))
    const dropped = mailbox.incarnationEnded(false)
    expect(ns(dropped)).toEqual([2, 3, 4])
    expect(mailbox.lost).toBe(2)
    // What never reached the dead incarnation still waits for the next one.
    expect(ns(mailbox.release())).toEqual([5])
  })

  it('counts processed by each incarnation from zero', () => {
    const mailbox = withSent([tell(1), tell(2)])
    mailbox.processed(2)
    mailbox.incarnationEnded(true)
    mailbox.sent(tell(3))
    mailbox.sent(tell(4))
    mailbox.processed(1) // the new incarnation's first
    expect(ns(mailbox.incarnationEnded(false))).toEqual([4])
    expect(mailbox.lost).toBe(1)
  })
})

describe('close', () => {
  it('gives back what waits when no incarnation will come: tells counted lost, asks to refuse', () => {
    const mailbox = new Mailbox<Work>(10)
    mailbox.hold(tell(1))
    mailbox.hold(ask(2))
    mailbox.hold(tell(3))
    expect(ns(mailbox.close())).toEqual([1, 2, 3])
    expect(mailbox.lost).toBe(2)
    expect(mailbox.depth).toBe(0)
  })
})
