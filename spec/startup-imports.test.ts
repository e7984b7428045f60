/**
 * Worker start-up stays light: the modules a thread or process actor loads before the
 * user's code (the child entry, and `troupe`'s public entry that user modules import)
 * must not statically reach `effect`. Walks the real import graph of the source.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const staticImports = (file: string): string[] => {
  const source = readFileSync(file, 'utf8')
  const specifiers: string[] = []
  // `import type` is erased; dynamic import() is lazy by design and not matched here.
  for (const m of source.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm))
    specifiers.push(m[1]!)
  for (const m of source.matchAll(/^import\s+'([^']+)'/gm)) specifiers.push(m[1]!)
  return specifiers
}

const reachable = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(fileURLToPath(new URL(spec, `file://${file}`)))
      else seen.add(spec)
    }
  }
  visit(fileURLToPath(new URL(entry, import.meta.url)))
  return seen
}

it.each(['../runtime/placement/actor-child.ts', '../runtime/index.ts'])(
  '%s does not load effect at start-up',
  (entry) => {
    const graph = [...reachable(entry)]
    expect(graph.length).toBeGreaterThan(3)
    expect(graph.filter((m) => m === 'effect' || m.startsWith('effect/'))).toEqual([])
  },
)
