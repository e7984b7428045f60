/**
 * The folders show the architecture, and the imports keep to it: the actor core never imports
 * the server built on it, and no two parts import each other. Read from the sources' import
 * statements (static and dynamic), so a new file cannot slip past.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )

/** The part of troupe a file belongs to. `runtime/index.ts` is the package's facade over all of them. */
const partOf = (file: string): string => {
  if (file === 'runtime/index.ts') return 'facade'
  if (file.startsWith('runtime/master/')) return 'server master'
  if (file.startsWith('runtime/')) return 'actor core'
  return file.split('/')[0]!
}

const edges = ['runtime', 'actors', 'transports', 'apps'].flatMap(sources).flatMap((file) => {
  const text = readFileSync(join(root, file), 'utf8')
  // `from '…'`, `import('…')`, `import '…'`, and thread/process entries as `new URL('….ts', import.meta.url)`.
  const specifiers = [
    ...text.matchAll(
      /(?:from|import\(|import)\s*'(\.{1,2}\/[^']+)'|new URL\('(\.{1,2}\/[^']+\.ts)', import\.meta\.url\)/g,
    ),
  ].map((m) => (m[1] ?? m[2])!)
  return specifiers.map((specifier) => ({
    file,
    target: relative(root, resolve(dirname(join(root, file)), specifier)),
  }))
})

it('reads the imports it checks', () => {
  expect(edges.length).toBeGreaterThan(100)
  expect(edges).toContainEqual({ file: 'runtime/cell.ts', target: 'runtime/mailbox.ts' })
  expect(edges).toContainEqual({ file: 'runtime/master/preflight.ts', target: 'runtime/master/app-check.ts' })
})

it('the actor core imports nothing outside itself (not the master, workers, transports or apps)', () => {
  const outward = edges.filter(
    ({ file, target }) => partOf(file) === 'actor core' && partOf(target) !== 'actor core',
  )
  expect(outward).toEqual([])
})

it('the parts import each other in one direction only: no cycle between folders', () => {
  const graph = new Map<string, Set<string>>()
  for (const { file, target } of edges) {
    const [from, to] = [partOf(file), partOf(target)]
    if (from === to || from === 'facade') continue
    if (!graph.has(from)) graph.set(from, new Set())
    graph.get(from)!.add(to)
  }
  const cycles: string[] = []
  const visit = (part: string, path: string[]) => {
    for (const next of graph.get(part) ?? []) {
      if (path.includes(next)) cycles.push([...path.slice(path.indexOf(next)), next].join(' → '))
      else visit(next, [...path, next])
    }
  }
  for (const part of graph.keys()) visit(part, [part])
  expect(cycles).toEqual([])
  // The order the folder map promises: the master on top, the actor core at the bottom.
  expect([...(graph.get('actor core') ?? [])]).toEqual([])
  expect([...(graph.get('transports') ?? [])].sort()).toEqual(['actor core'])
})
