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
import { envName, type Layers, type OptionKey, optionKeys, type Resolved, resolveConfig } from './config.ts'
import { optionTable } from './options.ts'

const pathKeys = optionKeys.filter((key: OptionKey) => optionTable[key].path === true)

/** A path to make absolute: not empty (refused later), not `-` (stdout, for the access log). */
const isPath = (value: unknown): value is string => typeof value === 'string' && value !== '' && value !== '-'

let configLoads = 0

const loadConfigFile = async (path: string | undefined): Promise<Layers['file']> => {
  const explicit = path !== undefined
  const file = resolve(path ?? 'troupe.config.ts')
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError(`config file not found: ${file}`)
    return undefined
  }
  const { typeStrippingMissing } = await import('../../apps/app.ts')
  const typescript = typeStrippingMissing(file)
  if (typescript) throw new ConfigError(`config file ${typescript}`)
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
  // Paths in a config file are relative to that file.
  for (const key of pathKeys) if (isPath(config[key])) config[key] = resolve(dirname(file), config[key])
  return { path: file, values: config }
}

/**
 * Reads every layer afresh (HUP re-reads the file), resolves them, and fits what was left to
 * its default to this Node (`note` says what changed, for the serving line).
 */
export const resolveLayers = async (
  parsed: Parsed,
  environment: Readonly<Record<string, string | undefined>>,
): Promise<Resolved> => {
  const file = await loadConfigFile(parsed.config)
  const flags: Record<string, unknown> = { ...parsed.flags }
  if (parsed.app !== undefined) flags.app = parsed.app
  const env = { ...environment }
  // Paths from flags and the environment are relative to the working directory (after --chdir).
  for (const key of pathKeys) {
    const value = flags[key]
    if (isPath(value)) flags[key] = resolve(value)
    const text = env[envName(key)]
    if (isPath(text)) env[envName(key)] = resolve(text)
  }
  // Loaded here, not at the top: preflight brings the app loader, which `--help` does not need.
  const { fitToNode } = await import('./preflight.ts')
  return resolveConfig({ ...(file ? { file } : {}), env, flags, fit: fitToNode })
}
