import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'
import type { ExitReason } from '../../runtime/exit.ts'
import { type ConfigKey, resolveConfig } from '../../runtime/master/config.ts'
import { type Server, startServer } from '../../runtime/master/master.ts'

export const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))

/**
 * Starts troupe on 127.0.0.1:0 with `flags`; stopped when the test ends. A root supervisor
 * that gave up fails the test then, whatever the test itself asserted.
 */
export const serve = async (
  app: string,
  flags: Partial<Record<ConfigKey, unknown>> = {},
): Promise<{ server: Server; base: string; port: number }> => {
  const { config } = resolveConfig({
    flags: { bind: ['127.0.0.1:0'], workers: 1, ...flags, app: fixturePath(app) },
  })
  const failures: ExitReason[] = []
  const server = await startServer(config, { onFailure: (reason) => failures.push(reason) })
  onTestFinished(async () => {
    await server.stop({ graceful: false })
    if (failures.length > 0)
      throw new Error(`the root supervisor gave up during the test: ${JSON.stringify(failures)}`)
  })
  const address = server.addresses[0]!
  const port = Number(address.split(':').pop())
  return { server, base: `http://127.0.0.1:${port}`, port }
}
