/**
 * The README's "Project layout" matches the tree: every path it names exists, and every
 * source folder (each top-level folder and the folders directly inside it) is named.
 * In each list item, a name with a `/` is a path from the repository's root; a bare file
 * name lies in one of the folders that item names (or at the root).
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { readReadme, repoRoot } from './support/readme.ts'

const section = (() => {
  const readme = readReadme()
  const start = readme.indexOf('\n## Project layout\n')
  if (start < 0) throw new Error('README.md has no "## Project layout" section')
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
})()

/** The section's list items, each with the backticked names in it. */
const items = section
  .split(/\n(?=- )/)
  .filter((item) => item.startsWith('- '))
  .map((item) => [...item.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]!))

const looksLikePath = (name: string) => name.includes('/') || /\.\w+$/.test(name)

const named = items.flatMap((names) => {
  const folders = names.filter((name) => name.endsWith('/'))
  return names.filter(looksLikePath).map((name) => {
    const candidates = name.includes('/') ? [name] : [...folders.map((folder) => folder + name), name]
    return { name, found: candidates.find((candidate) => fs.existsSync(path.join(repoRoot, candidate))) }
  })
})

/** Folders of the tree that hold the project (not installs, builds or dot-folders). */
const sourceFolders = (): string[] => {
  const skip = new Set(['node_modules', 'dist', 'coverage'])
  const dirs = (relative: string) =>
    fs
      .readdirSync(path.join(repoRoot, relative), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !skip.has(entry.name))
      .map((entry) => `${relative}${entry.name}/`)
  return dirs('').flatMap((top) => [top, ...dirs(top)])
}

describe('README Project layout', () => {
  it('names paths', () => {
    expect(named.length).toBeGreaterThan(10)
  })

  it('names only paths that exist', () => {
    expect(named.filter(({ found }) => !found).map(({ name }) => name)).toEqual([])
  })

  it('names every source folder', () => {
    const folders = new Set(items.flat().filter((name) => name.endsWith('/')))
    expect(sourceFolders().filter((folder) => !folders.has(folder))).toEqual([])
  })
})
