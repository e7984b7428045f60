/**
 * The README's code blocks and shell commands, as the README tests read them: every fenced
 * block with its language, the `## ` section it sits in and the HTML-comment marks
 * (`<!-- fragment -->`) on the lines just before it; every shell line split into the commands
 * a user would type, with each command classified by what runs it.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url))
export const readReadme = (): string => readFileSync(readmePath, 'utf8')

export interface CodeBlock {
  /** The info string's first word, lower-cased (`ts`, `sh`, or '' for none). */
  readonly lang: string
  readonly code: string
  /** 1-based line of the opening fence. */
  readonly line: number
  /** The title of the `## ` section the block is in. */
  readonly section: string
  /**
   * The first word of each HTML comment directly above the fence (blank lines allowed
   * between): `<!-- fragment: why -->` marks the block `fragment`.
   */
  readonly marks: readonly string[]
}

export const codeBlocks = (markdown: string): CodeBlock[] => {
  const lines = markdown.split('\n')
  const blocks: CodeBlock[] = []
  let section = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const heading = /^## (.+)$/.exec(line)
    if (heading) section = heading[1]!.trim()
    const fence = /^(`{3,}|~{3,})\s*([\w+-]*)/.exec(line)
    if (!fence) continue
    const marks: string[] = []
    for (let j = i - 1; j >= 0; j--) {
      const above = lines[j]!.trim()
      if (above === '') continue
      const mark = /^<!--\s*([\w-]+)[\s\S]*-->$/.exec(above)
      if (!mark) break
      marks.unshift(mark[1]!)
    }
    const close = lines.findIndex((l, k) => k > i && l.startsWith(fence[1]!))
    if (close < 0) throw new Error(`README.md:${i + 1}: code fence never closed`)
    blocks.push({
      lang: fence[2]!.toLowerCase(),
      code: lines.slice(i + 1, close).join('\n'),
      line: i + 1,
      section,
      marks,
    })
    i = close
  }
  return blocks
}

export const tsLanguages = new Set(['ts', 'typescript', 'mts', 'tsx'])
export const shellLanguages = new Set(['sh', 'bash', 'shell'])

/** A shell block's lines as typed: continuations joined, comments and blank lines dropped. */
export const shellLines = (code: string): string[] =>
  code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line.length > 0)

/**
 * What a README command is, by the words it starts with:
 * - `troupe`: runs the troupe CLI; `where` says where that works (`installed`: a project with
 *   troupe installed, through its bin; `clone`: a clone of this repository);
 * - `npm`: an npm command that is not a troupe invocation (`npm install`, `npm test`, `npm run X`);
 * - `other`: anything else (curl, kill, …).
 */
export type Command =
  | {
      readonly kind: 'troupe'
      readonly where: 'installed' | 'clone'
      readonly subcommand: string
      readonly text: string
    }
  | { readonly kind: 'npm'; readonly args: readonly string[]; readonly text: string }
  | { readonly kind: 'other'; readonly text: string }

const trouper: ReadonlyArray<readonly [RegExp, 'installed' | 'clone']> = [
  [/^(?:npx )?troupe(?:\s+(\S+)|$)/, 'installed'],
  [/^(?:npx )?node (?:\.\/)?dist\/cli\.js(?:\s+(\S+)|$)/, 'clone'],
  [/^(?:npx )?node (?:\.\/)?runtime\/master\/cli\.ts(?:\s+(\S+)|$)/, 'clone'],
]

export const classify = (text: string): Command => {
  for (const [pattern, where] of trouper) {
    const match = pattern.exec(text)
    if (match) return { kind: 'troupe', where, subcommand: match[1] ?? '', text }
  }
  // `npm start` is `troupe serve` from source (package.json's start script).
  if (/^npm start(\s|$)/.test(text)) return { kind: 'troupe', where: 'clone', subcommand: 'serve', text }
  if (/^npm(\s|$)/.test(text)) return { kind: 'npm', args: text.split(/\s+/).slice(1), text }
  return { kind: 'other', text }
}

/** A shell line's commands (split on `&&`), classified. */
export const commandsOf = (line: string): Command[] =>
  line
    .split('&&')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map(classify)

/** Every shell line of the README, with the block it came from. */
export const readmeShellLines = (
  markdown: string,
): Array<{ readonly line: string; readonly block: CodeBlock }> =>
  codeBlocks(markdown)
    .filter((block) => shellLanguages.has(block.lang))
    .flatMap((block) => shellLines(block.code).map((line) => ({ line, block })))

/**
 * The command line as the test runs it: every `--bind` and `--admin` moved to port 0 on
 * 127.0.0.1 (TCP) or into `socketDir` (Unix), and a serve command without a bind given one,
 * so nothing listens on a fixed port.
 */
export const onPortZero = (line: string, socketDir: string): string => {
  let rewritten = line.replace(
    /--(bind|admin|uwsgi)(?:=|\s+)(\S+)/g,
    (_all, flag: string, address: string) =>
      address.startsWith('unix:')
        ? `--${flag} unix:${socketDir}/${address.slice('unix:'.length).split('/').pop()}`
        : `--${flag} 127.0.0.1:0`,
  )
  const commands = commandsOf(rewritten)
  const serve = commands.find((c) => c.kind === 'troupe' && c.subcommand === 'serve')
  if (serve && !/--bind\s/.test(serve.text)) {
    const extra = /^npm start(\s|$)/.test(serve.text) && !/\s--(\s|$)/.test(serve.text) ? ' --' : ''
    rewritten = rewritten.replace(serve.text, `${serve.text}${extra} --bind 127.0.0.1:0`)
  }
  return rewritten
}

/** The code of the README block marked `<!-- mark -->` (see CodeBlock.marks); throws if there is none. */
export const markedBlock = (markdown: string, mark: string): string => {
  const block = codeBlocks(markdown).find((b) => b.marks.includes(mark))
  if (!block) throw new Error(`README.md has no block marked <!-- ${mark} -->`)
  return block.code
}
