/** The README's "Lifecycle channels" table lists exactly the channels troupe publishes on. */
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { channelNames, serverChannelNames } from '../runtime/index.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const section = readme.split('<!-- channel-table:start -->')[1]?.split('<!-- channel-table:end -->')[0] ?? ''
const documented = section
  .split('\n')
  .map((line) => line.split('|').map((cell) => cell.trim()))
  .filter((cells) => cells[1]?.startsWith('`troupe:'))
  .map((cells) => cells[1]!.slice(1, -1))

it('documents every exported channel, and every documented channel exists', () => {
  expect(documented.length).toBeGreaterThan(0)
  expect([...documented].sort()).toEqual([...channelNames, ...serverChannelNames].sort())
})

it('channel names are unique and namespaced troupe:<part>:<event>', () => {
  const names = [...channelNames, ...serverChannelNames]
  expect(new Set(names).size).toBe(names.length)
  for (const name of names) expect(name).toMatch(/^troupe:[a-z]+(?::[a-z]+)+$/)
})
