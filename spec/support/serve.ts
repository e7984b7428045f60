import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'
import type { ExitReason } from '../../runtime/exit.ts'
import { type ConfigKey, resolveConfig } from '../../runtime/master/config.ts'
import { type Server, startServer } from '../../runtime/master/master.ts'

export const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))

/**
 * Starts troupe in this process with `flags` (one worker on 127.0.0.1:0 unless they say
 * otherwise); stopped when the test ends. A root supervisor that gave up fails the test then,
 * whatever the test itself asserted. `lines` collects the server's log.
 */
export const startTestServer = async (
  flags: Partial<Record<ConfigKey, unknown>>,
): Promise<{ server: Server; lines: string[]; port: number }> => {
  const { config } = resolveConfig({ flags: { bind: ['127.0.0.1:0'], workers: 1, ...flags } })
  const failures: ExitReason[] = []
  const lines: string[] = []
  const server = await startServer(config, {
    onFailure: (reason) => failures.push(reason),
    log: (line) => lines.push(line),
  })
  onTestFinished(async () => {
    await server.stop({ graceful: false })
    if (failures.length > 0)
      throw new Error(`the root supervisor gave up during the test: ${JSON.stringify(failures)}`)
  })
  return { server, lines, port: Number(server.addresses[0]!.split(':').pop()) }
}

/** Starts troupe serving the fixture `app` (see startTestServer). */
export const serve = async (
  app: string,
  flags: Partial<Record<ConfigKey, unknown>> = {},
): Promise<{ server: Server; base: string; port: number; lines: string[] }> => {
  const { server, lines, port } = await startTestServer({ ...flags, app: fixturePath(app) })
  return { server, base: `http://127.0.0.1:${port}`, port, lines }
}
