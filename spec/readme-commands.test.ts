/**
 * The README's shell commands, run as written from this clone: every line that invokes troupe
 * the way a clone can (`npm start`, `node runtime/master/cli.ts`, `node dist/cli.js`) is run
 * in the repository's root with its binds moved to port 0, and must serve (GET / answers 200
 * on every address, TERM stops it with status 0) or, for other subcommands, exit 0. npm
 * commands must name scripts package.json has; other commands must at least parse.
 * `npx troupe` lines need an installed troupe and run in spec/pack.test.ts's scratch project.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
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
      const shell = new ShellLine(runnable, { cwd: repoRoot, env: userEnv() })
      if (commandsOf(runnable).some((c) => c.kind === 'troupe' && c.subcommand === 'serve')) {
        const bodies = await expectServes(shell)
        expect(bodies.length).toBeGreaterThan(0)
      } else {
        await expectSucceeds(shell)
      }
    },
    180_000,
  )
})
