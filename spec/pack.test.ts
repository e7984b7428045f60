/**
 * The package as npm ships it: packed from a copy of the sources that has never been built
 * (as a fresh clone is), installed from the tarball into a scratch project, and used there the
 * way a user would — the installed `troupe` bin serves an app that imports from 'troupe', the
 * types resolve, and the README's `npx troupe` commands work.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { copyAsClone } from './support/clone-copy.ts'
import { commandsOf, onPortZero, readmeShellLines, readReadme, repoRoot } from './support/readme.ts'
import { expectServes, expectSucceeds, ShellLine, userEnv } from './support/shell-line.ts'

const run = promisify(execFile)

let work: string
let project: string
let tarball: string
let shipped: string[]

beforeAll(async () => {
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-pack-')))
  const source = copyAsClone(path.join(work, 'troupe'))
  const env = userEnv()
  const out = path.join(work, 'out')
  fs.mkdirSync(out)
  await run('npm', ['pack', '--pack-destination', out], { cwd: source, env })
  const [name] = fs.readdirSync(out).filter((file) => file.endsWith('.tgz'))
  tarball = path.join(out, name!)
  shipped = (await run('tar', ['-tzf', tarball], { env })).stdout.split('\n').filter(Boolean)

  project = path.join(work, 'project')
  fs.mkdirSync(project)
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  )
  await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, env })
  fs.writeFileSync(
    path.join(project, 'app.mjs'),
    [
      "import { defineApp } from 'troupe'",
      "export default defineApp({ name: 'packed', fetch: (request, ctx) => new Response('packed app, ' + ctx.worker.id + '\\n') })",
      '',
    ].join('\n'),
  )
  // The README's commands name app.ts; with the types, the same app written in TypeScript.
  fs.writeFileSync(
    path.join(project, 'app.ts'),
    [
      "import { defineApp, type AppContext } from 'troupe'",
      'export default defineApp({',
      "  name: 'packed-ts',",
      "  fetch: (request: Request, ctx: AppContext) => new Response(request.method + ' from ' + ctx.worker.id + '\\n'),",
      '})',
      '',
    ].join('\n'),
  )
}, 240_000)

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

describe('npm pack of a fresh clone', () => {
  it('ships the build, the declarations and the licence', () => {
    expect(shipped).toContain('package/LICENSE')
    expect(shipped).toContain('package/README.md')
    expect(shipped).toContain('package/dist/cli.js')
    expect(shipped).toContain('package/dist/index.js')
    expect(shipped).toContain('package/dist/actor-child.js')
    expect(shipped).toContain('package/dist/thread-pool-task.js')
    // A reload checks the new code in a thread of its own, from this entry.
    expect(shipped).toContain('package/dist/app-check.js')
    expect(shipped).toContain('package/dist/types/runtime/index.d.ts')
    // The dashboard's page, served from the build as it is.
    expect(shipped).toContain('package/dist/dashboard/index.html')
    expect(shipped).toContain('package/dist/dashboard/app.js')
    // Sources and tests stay home.
    expect(shipped.filter((file) => /^package\/(spec|runtime|actors|apps|transports)\//.test(file))).toEqual(
      [],
    )
  })

  it('installs a `troupe` bin that serves an app importing from troupe, and stops cleanly', async () => {
    const bin = path.join(project, 'node_modules', '.bin', 'troupe')
    expect(fs.existsSync(bin)).toBe(true)
    const shell = new ShellLine(`'${bin}' serve app.mjs --bind 127.0.0.1:0`, { cwd: project, env: userEnv() })
    const [body] = await expectServes(shell)
    expect(body).toMatch(/^packed app, w\d+\n$/)
  }, 120_000)

  it("resolves `import { defineApp } from 'troupe'` from the project, at run time and in types", async () => {
    const env = userEnv()
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', "import { defineApp } from 'troupe'; console.log(typeof defineApp)"],
      { cwd: project, env },
    )
    expect(stdout.trim()).toBe('function')
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2024',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          types: ['node'],
          // The scratch project installs no @types/node of its own; lend it ours.
          typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
        },
        files: ['app.ts'],
      }),
    )
    onTestFinished(() => fs.rmSync(path.join(project, 'tsconfig.json'), { force: true }))
    await run(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', project], { cwd: project, env })
  }, 60_000)

  const installedLines = readmeShellLines(readReadme()).filter(({ line }) =>
    commandsOf(line).some((c) => c.kind === 'troupe' && c.where === 'installed'),
  )

  it('has the README lines that use an installed troupe', () => {
    expect(installedLines.length).toBeGreaterThan(0)
  })

  it.each(installedLines)(
    'README.md:$block.line `$line` works where troupe is installed',
    async ({ line }) => {
      const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-readme-'))
      onTestFinished(() => fs.rmSync(socketDir, { recursive: true, force: true }))
      const runnable = onPortZero(line, socketDir)
      // A bare `troupe` is what `npm link` or a global install gives; the project's bin stands in.
      // `npx troupe` finds the project's bin by itself.
      const bare = commandsOf(runnable).some((c) => c.kind === 'troupe' && /^troupe(\s|$)/.test(c.text))
      const shell = new ShellLine(runnable, {
        cwd: project,
        env: userEnv(bare ? [path.join(project, 'node_modules', '.bin')] : []),
      })
      if (commandsOf(runnable).some((c) => c.kind === 'troupe' && c.subcommand === 'serve')) {
        const bodies = await expectServes(shell)
        expect(bodies.length).toBe((runnable.match(/--bind\s/g) ?? []).length)
      } else {
        await expectSucceeds(shell)
      }
    },
    120_000,
  )
})
