/** The heartbeat watch on the manual clock: boot time is not silence, a stopped loop is. */
import { expect, it } from 'vitest'
import { bootTimeout, HeartbeatWatch } from '../runtime/heartbeat.ts'
import { ManualClock } from './support/manual-clock.ts'

it('a child still booting gets the boot allowance before its first beat, then the short timeout', () => {
  const clock = new ManualClock()
  const silences: number[] = []
  const watch = new HeartbeatWatch(clock, 50, 200, (silentMs) => silences.push(silentMs))
  clock.advance(bootTimeout - 100)
  expect(silences).toEqual([])
  watch.beat()
  clock.advance(150)
  expect(silences).toEqual([])
  clock.advance(150)
  expect(silences).toHaveLength(1)
  expect(silences[0]).toBeGreaterThan(200)
  expect(silences[0]).toBeLessThanOrEqual(300)
  watch.stop()
})

it('a child that never beats is reported once the boot allowance has passed', () => {
  const clock = new ManualClock()
  const silences: number[] = []
  new HeartbeatWatch(clock, 50, 200, (silentMs) => silences.push(silentMs))
  clock.advance(bootTimeout + 100)
  expect(silences).toHaveLength(1)
  expect(silences[0]).toBeGreaterThan(bootTimeout)
})
