/**
 * Actor core figures: spawn-to-ready, ask round trip, tell throughput, per placement.
 * Run: `npm run bench:actors` (or `node spec/bench/actors.ts [--rounds N]`).
 * Medians, since this machine is shared and noisy; the local placement is the baseline
 * the thread and process figures are a ratio to.
 */
import { parseArgs } from 'node:util'
import { createSystem, type Placement } from '../../runtime/index.ts'
import { counter } from '../fixtures/actors.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } })
const rounds = Number(values.rounds)
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const system = await createSystem()
const placements: Placement[] = ['local', 'thread', 'process']
const rows: Array<Record<string, string>> = []

for (const placement of placements) {
  const spawn: number[] = []
  for (let i = 0; i < rounds; i++) {
    const began = performance.now()
    const ref = await system.spawn(counter, { id: `spawn-${placement}-${i}`, placement })
    spawn.push(performance.now() - began)
    await ref.ask('get')
    await system.remove(ref.path)
  }
  const ref = await system.spawn(counter, { id: `rtt-${placement}`, placement, mailbox: 10_000 })
  for (let i = 0; i < 500; i++) await ref.ask('get') // warm up
  const rtt: number[] = []
  for (let r = 0; r < rounds; r++) {
    const n = 200
    const began = performance.now()
    for (let i = 0; i < n; i++) await ref.ask('get')
    rtt.push(((performance.now() - began) * 1000) / n)
  }
  const tellRates: number[] = []
  for (let r = 0; r < Math.max(3, Math.floor(rounds / 4)); r++) {
    const total = 100_000
    const batch = 5_000
    const began = performance.now()
    for (let sent = 0; sent < total; sent += batch) {
      for (let i = 0; i < batch; i++) ref.tell('add', 1)
      await ref.ask('get') // back-pressure: the mailbox is bounded
    }
    tellRates.push(total / ((performance.now() - began) / 1000))
  }
  rows.push({
    placement,
    'spawn→ready ms (median)': median(spawn).toFixed(1),
    'ask RTT µs (median)': median(rtt).toFixed(1),
    'tell msg/s (median)': Math.round(median(tellRates)).toLocaleString('en'),
  })
}
await system.stop()
console.log(`actor core, ${rounds} rounds, node ${process.version}`)
console.table(rows)
