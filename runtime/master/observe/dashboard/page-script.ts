/**
 * The page's modules as one script. A browser fetches a module graph import by import, and on a
 * small machine each fetch costs tens of milliseconds: a dozen of them doubled the page's load.
 * So the master links them once, when the page is first asked for — no build step, no bundler
 * to install. It links only the forms the page's modules use, and refuses anything else with the
 * module and the line: a single-line `import { a, b as c } from './x.js'` of a sibling, and
 * `export const|let|function|class NAME`. Each module runs in a scope of its own, in import
 * order, so the modules' own names never meet.
 */

const IMPORT = /^import \{([^}]*)\} from '\.\/([\w-]+\.js)'[ \t]*;?[ \t]*$/gm
const EXPORT = /^export (?=(?:async )?(?:const|let|function\*?|class) )/gm
const EXPORTED = /^export (?:async )?(?:const|let|function\*?|class) ([\w$]+)/gm
/** What is left of a form this linker does not know: refused, not silently mislinked. */
const UNLINKED = /^(?:import|export)\b|\bimport\s*\(|\bimport\.meta\b/m

interface Module {
  readonly name: string
  readonly imports: readonly { readonly from: string; readonly bindings: string }[]
  readonly exports: readonly string[]
  readonly body: string
}

const scopeName = (module: string): string => `module_${module.replace(/\W/g, '_')}`

const parse = (name: string, source: string): Module => {
  const imports = [...source.matchAll(IMPORT)].map((match) => ({
    from: match[2]!,
    // `a as b` binds b to the export a: in a destructuring, `a: b`.
    bindings: match[1]!
      .split(',')
      .map((binding) => binding.trim())
      .filter((binding) => binding !== '')
      .map((binding) => binding.replace(/^([\w$]+)\s+as\s+([\w$]+)$/, '$1: $2'))
      .join(', '),
  }))
  const exports = [...source.matchAll(EXPORTED)].map((match) => match[1]!)
  const body = source.replace(IMPORT, '').replace(EXPORT, '')
  const left = UNLINKED.exec(body)
  if (left) {
    const line = body.slice(0, left.index).split('\n').length
    throw new Error(
      `dashboard page ${name}: cannot link "${body.split('\n')[line - 1]?.trim()}" (line ${line} after imports)`,
    )
  }
  return { name, imports, exports, body }
}

/** `entry` and every module it imports, from `sources` (file name → text), linked into one script. */
export const linkPage = (sources: ReadonlyMap<string, string>, entry: string): string => {
  const ordered: Module[] = []
  const state = new Map<string, 'linking' | 'linked'>()
  const visit = (name: string, from: string) => {
    if (state.get(name) === 'linked') return
    if (state.get(name) === 'linking')
      throw new Error(`dashboard page: ${from} and ${name} import each other`)
    const source = sources.get(name)
    if (source === undefined) throw new Error(`dashboard page ${from}: imports ./${name}, which is missing`)
    state.set(name, 'linking')
    const module = parse(name, source)
    for (const { from: dependency } of module.imports) visit(dependency, name)
    state.set(name, 'linked')
    ordered.push(module)
  }
  visit(entry, entry)
  const parts = ordered.map(({ name, imports, exports, body }) =>
    [
      `// ${name}`,
      `const ${scopeName(name)} = (() => {`,
      ...imports.map(({ from, bindings }) => `const { ${bindings} } = ${scopeName(from)}`),
      body.trim(),
      `return { ${exports.join(', ')} }`,
      '})()',
    ].join('\n'),
  )
  return `// The dashboard page's modules (${ordered.map((m) => m.name).join(', ')}), linked into one script by the master.\n${parts.join('\n\n')}\n`
}
