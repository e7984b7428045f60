/**
 * Every TypeScript block of the README compiles and runs as written. The blocks are written
 * to a scratch folder inside the repository (`.readme-blocks/`, gitignored, removed after),
 * with `from 'troupe'` pointed at runtime/index.ts, and typechecked together by the project's
 * tsc under the project's strict tsconfig. Then each whole block runs:
 * - a block with `export default defineConfig(…)` is a config: node imports it;
 * - any other block with `export default` is an app: troupe serves it on port 0 and `GET /`
 *   must answer 200;
 * - every other block is a script: `node block.ts` must exit 0.
 *
 * Marks (an HTML comment on the line(s) above the fence):
 * - `<!-- fragment -->`: a piece of a program. It may use the names of
 *   spec/fixtures/readme/prelude.ts without declaring them; it is typechecked, not run.
 * - `<!-- no-run -->`: whole, typechecked, not run (say why beside it in the README).
 * A block whose first line is a comment naming a file (`// counter.ts`) is written under that
 * name, so later blocks can import it (`import { counter } from './counter.ts'`).
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CodeBlock, codeBlocks, readReadme, repoRoot, tsLanguages } from './support/readme.ts'
import { startTestServer } from './support/serve.ts'

const run = promisify(execFile)
const troupeEntry = fileURLToPath(new URL('../runtime/index.ts', import.meta.url))
const preludePath = fileURLToPath(new URL('./fixtures/readme/prelude.ts', import.meta.url))
const tsc = path.join(repoRoot, 'node_modules', '.bin', 'tsc')

interface WrittenBlock {
  readonly block: CodeBlock
  readonly file: string
  /** Lines added above the block's own (the prelude import of a fragment). */
  readonly offset: number
  readonly role: 'fragment' | 'no-run' | 'config' | 'app' | 'script'
}

const blocks = codeBlocks(readReadme()).filter((block) => tsLanguages.has(block.lang))

const fileNameOf = (block: CodeBlock): string =>
  /^\/\/ ([\w./-]+\.m?ts)(\s|$)/.exec(block.code)?.[1] ?? `readme-${block.line}.ts`

const roleOf = (block: CodeBlock): WrittenBlock['role'] => {
  if (block.marks.includes('fragment')) return 'fragment'
  if (block.marks.includes('no-run')) return 'no-run'
  if (/^export default /m.test(block.code)) return /\bdefineConfig\(/.test(block.code) ? 'config' : 'app'
  return 'script'
}

const preludeNames = [
  ...fs.readFileSync(preludePath, 'utf8').matchAll(/^export (?:declare )?const (\w+)/gm),
].map((match) => match[1]!)

/** The prelude names a fragment uses and does not declare (or import) itself. */
const borrowed = (code: string): string[] =>
  preludeNames.filter((name) => {
    const word = new RegExp(`\\b${name}\\b`)
    if (!word.test(code)) return false
    const declares = new RegExp(
      `\\b(const|let|var|function|class)\\s+${name}\\b|import\\s*\\{[^}]*\\b${name}\\b[^}]*\\}`,
    )
    return !declares.test(code)
  })

/**
 * `from 'troupe'` → the sources, keeping every line where it was. Relative, since
 * rewriteRelativeImportExtensions refuses a `.ts` specifier that is not.
 */
const pointAtSources = (code: string, from: string): string =>
  code.replace(
    /(from\s+|import\()(['"])troupe\2/g,
    (_all, lead: string) => `${lead}'${relative(from, troupeEntry)}'`,
  )

const relative = (from: string, to: string): string =>
  `./${path.relative(from, to)}`.replace(/^\.\/\.\.\//, '../')

const canary = 'canary.ts'

let dir: string
let written: WrittenBlock[]
/** tsc's diagnostics, by file name. */
const diagnostics = new Map<string, string[]>()

beforeAll(async () => {
  const parent = path.join(repoRoot, '.readme-blocks')
  fs.mkdirSync(parent, { recursive: true })
  dir = fs.mkdtempSync(path.join(parent, 'run-'))
  written = blocks.map((block) => {
    const role = roleOf(block)
    const file = fileNameOf(block)
    const names = role === 'fragment' ? borrowed(block.code) : []
    const head =
      names.length > 0 ? [`import { ${names.join(', ')} } from '${relative(dir, preludePath)}'`] : []
    const target = path.join(dir, file)
    if (fs.existsSync(target)) throw new Error(`README.md:${block.line}: a second block named ${file}`)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, `${[...head, pointAtSources(block.code, dir)].join('\n')}\n`)
    return { block, file, offset: head.length, role }
  })
  // A known mistake beside the blocks: tsc must report it, or it did not check anything.
  fs.writeFileSync(path.join(dir, canary), "export const canary: number = 'not a number'\n")
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: path.join(repoRoot, 'tsconfig.json'), include: ['**/*.ts'] }),
  )
  const result = await run(tsc, ['-p', dir, '--pretty', 'false'], { cwd: dir }).catch(
    (error: { stdout: string }) => error,
  )
  for (const line of result.stdout.split('\n')) {
    const match = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line.trim())
    if (!match) continue
    const file = path.relative(dir, path.resolve(dir, match[1]!))
    const entry = written.find((w) => w.file === file)
    const where = entry ? `README.md:${entry.block.line + Number(match[2]) - entry.offset}` : file
    diagnostics.set(file, [...(diagnostics.get(file) ?? []), `${where}: ${match[4]}`])
  }
}, 120_000)

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
  try {
    fs.rmdirSync(path.join(repoRoot, '.readme-blocks'))
  } catch {
    // Another run still has its folder there.
  }
})

describe('README TypeScript blocks', () => {
  it('has blocks of every kind the tests run', () => {
    const roles = new Set(blocks.map(roleOf))
    expect(roles).toContain('app')
    expect(roles).toContain('script')
  })

  it('runs tsc for real (it reports a planted mistake)', () => {
    expect(diagnostics.get(canary)?.join('\n')).toMatch(/TS2322/)
  })

  it.each(blocks)('README.md:$line typechecks', (block) => {
    const entry = written.find((w) => w.block === block)!
    expect(diagnostics.get(entry.file) ?? []).toEqual([])
  })

  it('typechecks nothing but the blocks', () => {
    const strays = [...diagnostics.keys()].filter(
      (file) => file !== canary && !written.some((w) => w.file === file),
    )
    expect(strays.flatMap((file) => diagnostics.get(file))).toEqual([])
  })

  const runnable = blocks.filter((block) => !['fragment', 'no-run'].includes(roleOf(block)))

  it.each(runnable)(
    'README.md:$line runs',
    async (block) => {
      const entry = written.find((w) => w.block === block)!
      const file = path.join(dir, entry.file)
      if (entry.role === 'app') {
        const { port } = await startTestServer({ app: file })
        const response = await fetch(`http://127.0.0.1:${port}/`)
        const body = await response.text()
        expect({ status: response.status, body }).toMatchObject({ status: 200 })
        return
      }
      const result = await run(process.execPath, [file], { cwd: dir, timeout: 60_000 }).catch(
        (error: { code: unknown; stdout: string; stderr: string }) => error,
      )
      expect({ code: 'code' in result ? result.code : 0, stderr: result.stderr }).toMatchObject({ code: 0 })
    },
    90_000,
  )
})
