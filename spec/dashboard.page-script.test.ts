/**
 * The page's modules linked into one script (page-script.ts): what the browser runs is what the
 * modules say, each in a scope of its own and in import order; a form the linker does not know
 * is refused with the module and the line, never linked wrong.
 */
import { createHash } from 'node:crypto'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { assets, pageScriptHash } from '../runtime/master/observe/dashboard/assets.ts'
import { linkPage } from '../runtime/master/observe/dashboard/page-script.ts'

const run = (script: string) => {
  const said: unknown[] = []
  vm.runInNewContext(script, { say: (value: unknown) => said.push(value) })
  return said
}

describe('linkPage', () => {
  it('runs the modules in import order, each in its own scope, with renamed imports', () => {
    const script = linkPage(
      new Map([
        [
          'main.js',
          "import { twice } from './math.js'\nimport { name as who, shout } from './words.js'\nconst local = 'main'\nsay(shout(who) + twice(21) + local)\n",
        ],
        ['math.js', "const local = 'math'\nexport function twice(n) {\n  return n * 2\n}\nsay(local)\n"],
        [
          'words.js',
          "import { twice } from './math.js'\nexport const name = 'troupe'\nexport const shout = (s) => s.toUpperCase() + twice(1)\nsay('words')\n",
        ],
      ]),
      'main.js',
    )
    expect(run(script)).toEqual(['math', 'words', 'TROUPE242main'])
    expect(script).not.toMatch(/^(import|export)\b/m)
  })

  it('refuses what it cannot link: a default export, a dynamic import, a cycle, a missing module', () => {
    expect(() => linkPage(new Map([['a.js', 'export default 1\n']]), 'a.js')).toThrow(
      'dashboard page a.js: cannot link "export default 1" (line 1 after imports)',
    )
    expect(() => linkPage(new Map([['a.js', "const m = import('./b.js')\n"]]), 'a.js')).toThrow(/cannot link/)
    expect(() =>
      linkPage(
        new Map([
          ['a.js', "import { b } from './b.js'\nexport const a = 1\n"],
          ['b.js', "import { a } from './a.js'\nexport const b = 1\n"],
        ]),
        'a.js',
      ),
    ).toThrow('dashboard page: b.js and a.js import each other')
    expect(() => linkPage(new Map([['a.js', "import { b } from './b.js'\n"]]), 'a.js')).toThrow(
      'dashboard page a.js: imports ./b.js, which is missing',
    )
  })

  it('links the shipped page into one script, inline in the page with its style sheet: the browser fetches one file', () => {
    const script = assets().get('app.js')!.body.toString('utf8')
    expect(script).not.toMatch(/^\s*(import|export)\b/m)
    for (const module of ['dom.js', 'format.js', 'tree.js', 'app.js'])
      expect(script).toContain(`// ${module}\n`)
    const page = assets().get('index.html')!.body.toString('utf8')
    expect(page).toContain(`<script type="module">\n${script}</script>`)
    expect(page).not.toMatch(/<script [^>]*src=|<link rel="stylesheet"/)
    expect(page).toContain(assets().get('style.css')!.body.toString('utf8'))
    // The policy lets exactly that script run.
    const hash = createHash('sha256').update(`\n${script}`).digest('base64')
    expect(pageScriptHash()).toBe(`sha256-${hash}`)
  })
})
