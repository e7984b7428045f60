import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'
import { type ConfigKey, resolveConfig } from '../../runtime/master/config.ts'
import { type Server, startServer } from '../../runtime/master/master.ts'

export const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))

/** Starts troupe on 127.0.0.1:0 with `flags`; stopped when the test ends. */
export const serve = async (
  app: string,
  flags: Partial<Record<ConfigKey, unknown>> = {},
): Promise<{ server: Server; base: string; port: number }> => {
  const { config } = resolveConfig({
    flags: { bind: ['127.0.0.1:0'], workers: 1, ...flags, app: fixturePath(app) },
  })
  const server = await startServer(config, { onFailure: () => {} })
  onTestFinished(() => server.stop({ graceful: false }))
  const address = server.addresses[0]!
  const port = Number(address.split(':').pop())
  return { server, base: `http://127.0.0.1:${port}`, port }
}
