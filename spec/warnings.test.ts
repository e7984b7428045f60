/** The warning catalogue and its README table stay in step, as the error catalogue does. */
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { warningCatalogue } from '../runtime/index.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const section =
  readme.split('<!-- warning-catalogue:start -->')[1]?.split('<!-- warning-catalogue:end -->')[0] ?? ''
const documented = section
  .split('\n')
  .map((line) => line.split('|').map((cell) => cell.trim()))
  .filter((cells) => cells[1]?.startsWith('`TROUPE_W_'))
  .map((cells) => ({ code: cells[1]!.slice(1, -1), description: cells[2] }))

it('documents every warning code, and every documented code exists, with the same meaning', () => {
  expect(documented.length).toBeGreaterThan(0)
  expect(documented).toEqual(warningCatalogue.map(({ code, description }) => ({ code, description })))
})

it('warning codes are unique and follow TROUPE_W_', () => {
  const codes = warningCatalogue.map((w) => w.code)
  expect(new Set(codes).size).toBe(codes.length)
  for (const code of codes) expect(code).toMatch(/^TROUPE_W_[A-Z_]+$/)
})
