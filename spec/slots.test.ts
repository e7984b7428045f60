import { describe, expect, it } from 'vitest'
import { Slots } from '../actors/http-worker/slots.ts'

describe("Slots (the worker's open connections)", () => {
  it('holds what is added until it is taken out, and walks only what it holds', () => {
    const slots = new Slots<string>()
    const a = slots.add('a')
    const b = slots.add('b')
    slots.add('c')
    slots.delete(b)
    expect(slots.size).toBe(2)
    expect([...slots.values()]).toEqual(['a', 'c'])
    slots.delete(a)
    slots.delete(a)
    expect(slots.size).toBe(1)
    expect([...slots.values()]).toEqual(['c'])
  })

  it('reuses freed slots, so steady churn never grows it past the most held at once', () => {
    const slots = new Slots<number>()
    const held = [slots.add(0), slots.add(1), slots.add(2)]
    for (let i = 3; i < 10_000; i++) {
      slots.delete(held.shift()!)
      held.push(slots.add(i))
    }
    expect(slots.size).toBe(3)
    expect(Math.max(...held)).toBeLessThan(3)
    expect([...slots.values()].sort((x, y) => x - y)).toEqual([9_997, 9_998, 9_999])
  })

  it('skips what is taken out while it is being walked', () => {
    const slots = new Slots<string>()
    const ids = ['a', 'b', 'c'].map((s) => slots.add(s))
    const seen: string[] = []
    for (const item of slots.values()) {
      seen.push(item)
      if (item === 'a') slots.delete(ids[1]!)
    }
    expect(seen).toEqual(['a', 'c'])
  })
})
