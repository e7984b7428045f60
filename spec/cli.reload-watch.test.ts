/**
 * `troupe serve --reload`: edit the app's file and the new code is served, while every request
 * sent during the change is answered. Changes under node_modules and to dotfiles do not count.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { eventually } from './support/manual-clock.ts'
import { get, start, tempDir, writeFile } from './support/troupe-cli.ts'

const appSource = (version: string) => `export default { fetch: () => new Response('${version}') }\n`

it.each(['thread', 'process'])(
  '--reload (%s workers): an edited app is served after a zero-drop reload',
  async (placement) => {
    const dir = tempDir()
    const app = writeFile(dir, 'app.ts', appSource('v1'))
    fs.mkdirSync(path.join(dir, 'node_modules'))
    const troupe = start(['serve', app, '--reload', '--bind', '127.0.0.1:0', '--placement', placement], {
      cwd: dir,
    })
    const { port } = await troupe.serving()
    await troupe.waitForStderr(/^troupe: --reload: watching /m)
    expect((await get(port)).body).toBe('v1')

    // Requests one after another, each on its own connection, for as long as the change takes.
    const answers: string[] = []
    let sending = true
    const client = (async () => {
      while (sending) {
        const answer = await get(port).catch((error: Error) => ({ status: 0, body: error.message }))
        answers.push(answer.status === 200 ? answer.body : `${answer.status} ${answer.body}`)
      }
    })()

    await eventually(() => answers.length > 0, 10_000, 'a first answer of the old code')
    writeFile(dir, 'node_modules/dep.js', 'export {}\n')
    writeFile(dir, '.env', 'SECRET=1\n')
    writeFile(dir, 'app.ts', appSource('v2'))
    await troupe.waitForStderr(/^troupe: reloaded: generation 2\b/m, 20_000)
    await eventually(() => answers.at(-1) === 'v2', 10_000, 'the new code served')
    sending = false
    await client

    expect(answers.filter((a) => a !== 'v1' && a !== 'v2')).toEqual([])
    expect(answers.indexOf('v2')).toBeGreaterThan(0)
    expect(answers.slice(answers.indexOf('v2'))).not.toContain('v1')
    expect(troupe.stderr.match(/^troupe: .* changed: reloading$/gm)).toEqual([
      'troupe: app.ts changed: reloading',
    ])

    troupe.child.kill('SIGTERM')
    expect((await troupe.exitWithin()).code).toBe(0)
  },
)
