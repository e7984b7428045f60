/**
 * Reading the layers the config is resolved from: the config file (imported afresh each time,
 * so HUP sees the file as it is now), the environment and the flags. Paths are made absolute
 * here: an app path in a file is relative to the file, on the command line or in the
 * environment relative to the working directory.
 */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.ts'
import type { Parsed } from './cli-args.ts'
import { type Layers, type Resolved, resolveConfig } from './config.ts'

let configLoads = 0

export const loadConfigFile = async (path: string | undefined): Promise<Layers['file']> => {
  const explicit = path !== undefined
  const file = resolve(path ?? 'troupe.config.ts')
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError(`config file not found: ${file}`)
    return undefined
  }
  let module: { default?: unknown }
  try {
    // A fresh URL each time: HUP must see the file as it is now, not the module cache's copy.
    module = await import(`${pathToFileURL(file).href}?load=${++configLoads}`)
  } catch (error) {
    throw new ConfigError(`config file ${file} threw while loading: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const values = module.default
  if (!values || typeof values !== 'object' || Array.isArray(values))
    throw new ConfigError(`config file ${file} must default-export defineConfig({...})`)
  const config = { ...values } as Record<string, unknown>
  // The app path in a config file is relative to that file.
  if (typeof config.app === 'string') config.app = resolve(dirname(file), config.app)
  return { path: file, values: config }
}

/** Reads every layer afresh (HUP re-reads the file) and resolves them. */
export const resolveLayers = async (
  parsed: Parsed,
  environment: Readonly<Record<string, string | undefined>>,
): Promise<Resolved> => {
  const file = await loadConfigFile(parsed.config)
  const flags = { ...parsed.flags }
  if (parsed.app !== undefined) flags.app = parsed.app
  if (typeof flags.app === 'string') flags.app = resolve(flags.app)
  const env = { ...environment }
  if (typeof env.TROUPE_APP === 'string' && env.TROUPE_APP !== '') env.TROUPE_APP = resolve(env.TROUPE_APP)
  return resolveConfig({ ...(file ? { file } : {}), env, flags })
}
