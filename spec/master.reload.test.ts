/**
 * Reloads as an operator lives them: a broken deploy does not poison the next HUP, bind
 * changes are applied (new listeners first), a change that cannot be applied live is refused
 * while the old generation serves on, and the worker count after scaling is kept on purpose.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import type { Server } from '../runtime/master/master.ts'
import { eventually } from './support/manual-clock.ts'
import { startTestServer } from './support/serve.ts'
import { get, start as startCli, tempDir } from './support/troupe-cli.ts'

const appSource = (version: string) =>
  `export default { fetch: (request, ctx) => Response.json({ version: ${JSON.stringify(version)}, generation: ctx.worker.generation, id: ctx.worker.id }) }\n`
const brokenSource = `throw new Error('the deploy is broken')\nexport default {}\n`

const writeApp = (file: string, source: string) => fs.writeFileSync(file, source)

const start = (flags: Record<string, unknown>): Promise<{ server: Server; lines: string[] }> =>
  startTestServer(flags)

const portOf = (server: Server) => Number(server.addresses[0]!.split(':').pop())

const answer = async (port: number) => {
  const { status, body } = await get(port)
  expect(status).toBe(200)
  return JSON.parse(body) as { version: string; generation: number; id: string }
}

/** Records what is published on `names` while the test runs. */
const record = (names: readonly string[]): Array<{ name: string; message: unknown }> => {
  const seen: Array<{ name: string; message: unknown }> = []
  for (const name of names) {
    const listener = (message: unknown) => seen.push({ name, message })
    subscribe(name, listener)
    onTestFinished(() => {
      unsubscribe(name, listener)
    })
  }
  return seen
}

describe('a failed reload does not poison the next one', () => {
  it('server.reload(): broken deploy refused (old serves) → fixed → the new code serves', async () => {
    const dir = tempDir()
    const app = path.join(dir, 'app.mjs')
    writeApp(app, appSource('one'))
    const { server } = await start({ app })
    const port = portOf(server)
    expect(await answer(port)).toMatchObject({ version: 'one', generation: 1 })

    writeApp(app, brokenSource)
    await expect(server.reload()).rejects.toMatchObject({ code: 'TROUPE_E_APP_LOAD' })
    expect(await answer(port)).toMatchObject({ version: 'one', generation: 1 })
    await expect(server.reload(), 'still broken: refused again').rejects.toThrow(/the deploy is broken/)

    writeApp(app, appSource('two'))
    await server.reload()
    expect(server.generation).toBe(2)
    expect(await answer(port)).toMatchObject({ version: 'two', generation: 2 })
  })

  it('server.reload(): a broken file the app imports, once fixed, is loaded afresh too', async () => {
    const dir = tempDir()
    const app = path.join(dir, 'app.mjs')
    const lib = path.join(dir, 'lib.mjs')
    writeApp(lib, "export const version = 'one'\n")
    writeApp(
      app,
      "import { version } from './lib.mjs'\nexport default { fetch: (request, ctx) => Response.json({ version, generation: ctx.worker.generation }) }\n",
    )
    const { server } = await start({ app })
    const port = portOf(server)
    expect(await answer(port)).toMatchObject({ version: 'one', generation: 1 })

    writeApp(lib, "export const version = 'broken'\nthrow new Error('the library is broken')\n")
    await expect(server.reload()).rejects.toMatchObject({
      code: 'TROUPE_E_APP_LOAD',
      message: expect.stringContaining('the library is broken'),
    })
    expect(await answer(port)).toMatchObject({ version: 'one', generation: 1 })

    writeApp(lib, "export const version = 'two'\n")
    await server.reload()
    expect(await answer(port)).toMatchObject({ version: 'two', generation: 2 })
  })

  it('the real CLI and SIGHUP: broken deploy refused in one line, fixed deploy served', async () => {
    const dir = tempDir()
    const app = path.join(dir, 'app.mjs')
    writeApp(app, appSource('one'))
    const troupe = startCli(['serve', app, '--bind', '127.0.0.1:0'], { cwd: dir })
    const { port } = await troupe.serving()
    expect(await answer(port)).toMatchObject({ version: 'one', generation: 1 })

    writeApp(app, brokenSource)
    troupe.signal('SIGHUP')
    const failed = await troupe.waitForStderr(/^troupe: reload failed, the old workers keep serving: .*$/m)
    expect(failed[0]).toContain('the deploy is broken')
    expect(failed[0]).toContain('[TROUPE_E_APP_LOAD]')
    expect(await answer(port)).toMatchObject({ version: 'one', generation: 1 })

    writeApp(app, appSource('two'))
    troupe.signal('SIGHUP')
    await troupe.waitForStderr(/^troupe: reloaded: generation 2, 1 workers$/m)
    expect(await answer(port)).toMatchObject({ version: 'two', generation: 2 })

    // TTOU at one worker is refused with the reason, and the worker serves on.
    troupe.signal('SIGTTOU')
    await troupe.waitForStderr(
      /^troupe: scale ignored: at least one worker must serve \(asked for 0; 1 serving\)$/m,
    )
    expect(await answer(port)).toMatchObject({ version: 'two' })
    expect((await troupe.stop()).code).toBe(0)
  })
})

describe('a reload asked while one runs', () => {
  it('runs after it, so an edit made in between is served; asks made meanwhile share that one', async () => {
    const dir = tempDir()
    const app = path.join(dir, 'app.mjs')
    writeApp(app, appSource('one'))
    const { server } = await start({ app })
    const port = portOf(server)

    writeApp(app, appSource('two'))
    const first = server.reload()
    // The first reload has begun (it checks the app, then starts workers) when the file changes again.
    writeApp(app, appSource('three'))
    const second = server.reload()
    const third = server.reload()
    await first
    await Promise.all([second, third])
    expect(server.generation, 'two reloads ran: the first, and one for both later asks').toBe(3)
    expect(await answer(port)).toMatchObject({ version: 'three', generation: 3 })
  })
})

describe('reload applies a changed bind', () => {
  it('opens the new address before the old one closes, then serves only the new one', async () => {
    const dir = tempDir()
    const app = path.join(dir, 'app.mjs')
    writeApp(app, appSource('one'))
    const events = record(['troupe:server:listen', 'troupe:server:unlisten', 'troupe:server:reload:done'])
    const { server } = await start({ app })
    const oldAddress = server.addresses[0]!
    const socket = path.join(dir, 'new.sock')
    events.length = 0

    const { config: next } = resolveConfig({
      flags: { app, bind: [`unix:${socket}`], workers: 1, socketMode: '600' },
    })
    await server.reload(next)
    expect(server.addresses).toEqual([`unix:${socket}`])
    expect((fs.statSync(socket).mode & 0o777).toString(8), 'the new socketMode').toBe('600')
    expect(events.map((e) => e.name)).toEqual([
      'troupe:server:listen',
      'troupe:server:unlisten',
      'troupe:server:reload:done',
    ])
    // Each names its server: the one this test started.
    expect(events[0]!.message).toEqual({ server: expect.any(Number), address: `unix:${socket}` })
    expect(events[1]!.message).toEqual({
      server: (events[0]!.message as { server: number }).server,
      address: oldAddress,
    })

    const overUnix = await new Promise<string>((resolve, reject) => {
      http
        .get({ socketPath: socket, path: '/', agent: false }, (res) => {
          let body = ''
          res.setEncoding('utf8').on('data', (c: string) => {
            body += c
          })
          res.on('end', () => resolve(body))
        })
        .on('error', reject)
    })
    expect(JSON.parse(overUnix)).toMatchObject({ generation: 2 })
    await expect(get(Number(oldAddress.split(':').pop()))).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })

  it.runIf(process.platform === 'linux')(
    'reuseport: a kept address keeps its port; a changed one moves with the new generation',
    async () => {
      const dir = tempDir()
      const app = path.join(dir, 'app.mjs')
      writeApp(app, appSource('one'))
      const { server } = await start({ app, strategy: 'reuseport' })
      const [address] = server.addresses
      await server.reload()
      expect(server.addresses).toEqual([address])
      expect(await answer(portOf(server))).toMatchObject({ generation: 2 })

      await server.reload({ ...server.config, bind: ['0.0.0.0:0'] })
      expect(server.addresses).toEqual([expect.stringMatching(/^0\.0\.0\.0:\d+$/)])
      const port = portOf(server)
      expect(await answer(port)).toMatchObject({ generation: 3 })
      await expect(get(Number(address!.split(':').pop()))).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    },
  )

  it('refuses a strategy change in one coded error; the old generation keeps serving', async () => {
    const dir = tempDir()
    const app = path.join(dir, 'app.mjs')
    writeApp(app, appSource('one'))
    const events = record(['troupe:server:reload:start', 'troupe:server:reload:failed'])
    const { server } = await start({ app })
    const port = portOf(server)
    await expect(server.reload({ ...server.config, strategy: 'reuseport' })).rejects.toMatchObject({
      code: 'TROUPE_E_CONFIG',
      message: 'strategy cannot change on reload (handoff → reuseport); restart troupe to switch',
    })
    expect(events.map((e) => e.name)).toEqual(['troupe:server:reload:start', 'troupe:server:reload:failed'])
    expect(server.generation).toBe(1)
    expect(await answer(port)).toMatchObject({ generation: 1 })
  })
})

describe('worker count across reloads', () => {
  it('a scaled count is kept by a reload; a changed `workers` in the new config wins', async () => {
    const dir = tempDir()
    const app = path.join(dir, 'app.mjs')
    writeApp(app, appSource('one'))
    const events = record(['troupe:server:scale'])
    const { server, lines } = await start({ app })
    await server.scale(3)
    expect(events.map((e) => e.message)).toEqual([{ server: expect.any(Number), from: 1, to: 3 }])
    await server.reload()
    expect(server.config.workers).toBe(3)
    expect(lines).toContain('reloaded: generation 2, 3 workers')
    // The file read again, unchanged (workers 1, as loaded): the scaled count still stands.
    const { config: unchanged } = resolveConfig({ flags: { app, bind: ['127.0.0.1:0'], workers: 1 } })
    await server.reload({ ...unchanged, bind: server.config.bind })
    expect(server.config.workers).toBe(3)
    expect(lines).toContain('reloaded: generation 3, 3 workers')

    const { config: edited } = resolveConfig({ flags: { app, bind: ['127.0.0.1:0'], workers: 2 } })
    await server.reload({ ...edited, bind: server.config.bind })
    expect(server.config.workers).toBe(2)
    expect(lines).toContain('reloaded: generation 4, 2 workers')

    await server.scale(0)
    expect(lines).toContain('scale ignored: at least one worker must serve (asked for 0; 2 serving)')
    expect(events.at(-1)!.message).toMatchObject({ from: 2, to: 2 })
    await eventually(() => server.config.workers === 2, 1_000, 'two workers still')
  })
})
