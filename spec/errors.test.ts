/** The error catalogue, its docs and its classes stay in step. */
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import * as troupe from '../runtime/index.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const section =
  readme.split('<!-- error-catalogue:start -->')[1]?.split('<!-- error-catalogue:end -->')[0] ?? ''
// Rows of the table, whatever padding a formatter gives the cells.
const documented = section
  .split('\n')
  .map((line) => line.split('|').map((cell) => cell.trim()))
  .filter((cells) => cells[1]?.startsWith('`TROUPE_E_'))
  .map((cells) => ({ code: cells[1]!.slice(1, -1), name: cells[2]!.slice(1, -1), description: cells[3] }))

it('documents every code, and every documented code exists, with the same class and meaning', () => {
  expect(documented.length).toBeGreaterThan(10)
  expect(documented).toEqual(
    troupe.errorCatalogue.map(({ code, name, description }) => ({ code, name, description })),
  )
})

it('exports a class per code whose instances carry that code', () => {
  for (const { code, name } of troupe.errorCatalogue) {
    const Class = (troupe as unknown as Record<string, new () => Error & { code: string }>)[name]
    expect(Class, name).toBeTypeOf('function')
    const error = new Class!()
    expect(error).toBeInstanceOf(troupe.TroupeError)
    expect(error.code).toBe(code)
    expect(error.name).toBe(name)
    expect(error.message.length).toBeGreaterThan(0)
  }
})

it('codes are unique and follow TROUPE_E_', () => {
  const codes = troupe.errorCatalogue.map((e) => e.code)
  expect(new Set(codes).size).toBe(codes.length)
  for (const code of codes) expect(code).toMatch(/^TROUPE_E_[A-Z_]+$/)
})
