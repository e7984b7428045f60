/**
 * The README's shell commands, run as written from this clone: every line that invokes troupe
 * the way a clone can (`npm start`, `node runtime/master/cli.ts`, `node dist/cli.js`) is run
 * in the repository's root with its binds moved to port 0 (a line that builds runs in a copy
 * of the clone instead, so the suite never rewrites the checkout's dist/), and must serve
 * (GET / answers 200 on every address, TERM stops it with status 0) or, for other
 * subcommands, exit 0. npm
 * commands must name scripts package.json has; other commands must at least parse.
 * `npx troupe` lines need an installed troupe and run in spec/pack.test.ts's scratch project.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { copyAsClone } from './support/clone-copy.ts'
import { commandsOf, onPortZero, readmeShellLines, readReadme, repoRoot } from './support/readme.ts'
import { expectServes, expectSucceeds, ShellLine, userEnv } from './support/shell-line.ts'

const lines = readmeShellLines(readReadme())
const { scripts } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>
}
/** npm's own commands the README may name; everything else must be a script. */
const npmBuiltins = new Set(['install', 'ci', 'link', 'pack'])

const runsFromClone = (line: string) =>
  commandsOf(line).some((c) => c.kind === 'troupe' && c.where === 'clone')

/** `npm run build` writes dist/ afresh (tsup cleans it first). */
const builds = (line: string) =>
  commandsOf(line).some((c) => c.kind === 'npm' && c.args[0] === 'run' && c.args[1] === 'build')

/**
 * The checkout's dist/ as it is now: absent, or its files' mtimes plus a marker file that a
 * clean would remove. The returned check asserts it is still so.
 */
const snapshotDist = (): (() => void) => {
  const dist = path.join(repoRoot, 'dist')
  if (!fs.existsSync(dist))
    return () => expect(fs.existsSync(dist), 'the checkout has a dist/ now').toBe(false)
  const marker = path.join(dist, `readme-commands-marker-${process.pid}-${Date.now()}`)
  fs.writeFileSync(marker, '')
  onTestFinished(() => fs.rmSync(marker, { force: true }))
  const mtimes = () =>
    Object.fromEntries(
      fs
        .readdirSync(dist, { recursive: true, encoding: 'utf8' })
        .map((file) => [file, fs.statSync(path.join(dist, file)).mtimeMs] as const),
    )
  const before = mtimes()
  return () => {
    expect(fs.existsSync(marker), "the checkout's dist/ was cleaned").toBe(true)
    expect(mtimes(), "the checkout's dist/ was rewritten").toEqual(before)
  }
}

describe('README shell commands', () => {
  it('has the commands of Quick start and Serving an app', () => {
    const sections = new Set(lines.map(({ block }) => block.section))
    expect(sections).toContain('Quick start')
    expect(sections).toContain('Serving an app')
    expect(lines.filter(({ line }) => runsFromClone(line)).length).toBeGreaterThanOrEqual(2)
  })

  it.each(lines)('README.md:$block.line `$line` names commands that exist', ({ line }) => {
    for (const command of commandsOf(line)) {
      if (command.kind === 'npm') {
        const [verb, script] = command.args
        if (verb === 'run') expect(scripts, command.text).toHaveProperty([script!])
        else if (verb === 'test') expect(scripts, command.text).toHaveProperty(['test'])
        else expect(npmBuiltins, command.text).toContain(verb)
      } else if (command.kind === 'other') {
        // Not run (it may act on a server or a machine); it must at least be valid shell.
        execFileSync('bash', ['-n', '-c', command.text])
      }
    }
  })

  // Installing and testing are what CI does around this suite; the rest of the line runs.
  const notRun = (text: string) => /^npm (install|ci|test|link)(\s|$)/.test(text)
  const cloneLines = lines.filter(({ line }) => runsFromClone(line))

  it.each(cloneLines)(
    'README.md:$block.line `$line` works in a clone',
    async ({ line }) => {
      const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-readme-'))
      onTestFinished(() => fs.rmSync(socketDir, { recursive: true, force: true }))
      const runnable = commandsOf(onPortZero(line, socketDir))
        .filter((c) => !notRun(c.text))
        .map((c) => c.text)
        .join(' && ')
      let cwd = repoRoot
      let distUntouched = () => {}
      if (builds(runnable)) {
        distUntouched = snapshotDist()
        const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-readme-clone-')))
        onTestFinished(() => fs.rmSync(scratch, { recursive: true, force: true }))
        cwd = copyAsClone(path.join(scratch, 'troupe'))
      }
      const shell = new ShellLine(runnable, { cwd, env: userEnv() })
      if (commandsOf(runnable).some((c) => c.kind === 'troupe' && c.subcommand === 'serve')) {
        const bodies = await expectServes(shell)
        expect(bodies.length).toBeGreaterThan(0)
      } else {
        await expectSucceeds(shell)
      }
      if (cwd !== repoRoot)
        expect(fs.existsSync(path.join(cwd, 'dist', 'cli.js')), 'the copy was built').toBe(true)
      distUntouched()
    },
    180_000,
  )
})
