/**
 * The config DSL: `troupe.config.ts` default-exports `defineConfig({...})`. The keys, their
 * types, defaults and checks all come from the option table (options.ts). Values come from,
 * in order of precedence: flags > environment (`PORT`, `WEB_CONCURRENCY`, `TROUPE_*`) > the
 * config file > defaults. Each resolved value keeps its source so `troupe check` can say where
 * it came from, and every refusal names the option, the source and what was expected.
 */
import { ConfigError } from '../errors.ts'
import { type WarningCode, warningLine } from '../warnings.ts'
import type { OptionType } from './option-types.ts'
import { type OptionKey, type OptionSpec, type OptionTable, optionTable } from './options.ts'

type ValueOf<S> = S extends { readonly type: OptionType<infer T, infer _I> } ? T : never
type InputOf<S> = S extends { readonly type: OptionType<infer _T, infer I> } ? I : never

/** What a config file may hold: every option, each optional, typed by the option table. */
export type TroupeConfig = { readonly [K in OptionKey]?: InputOf<OptionTable[K]> }

/** The config after resolution: every option present, validated. */
export type ResolvedConfig = { readonly [K in OptionKey]: ValueOf<OptionTable[K]> }

/** Marks a config object; keeps the types in the user's editor. */
export const defineConfig = (config: TroupeConfig): TroupeConfig => config

const table = optionTable as unknown as Record<OptionKey, OptionSpec<unknown, unknown>>

/** Every option, in the table's order. */
export const optionKeys = Object.keys(optionTable) as OptionKey[]

/** The options that take a flag and an environment variable (all but the file-only ones). */
export type ConfigKey = {
  [K in OptionKey]: OptionTable[K] extends { readonly fileOnly?: false } ? K : never
}[OptionKey]
export const configKeys = optionKeys.filter((key) => !table[key].fileOnly) as ConfigKey[]

/** The defaults, from the option table. */
export const configDefaults = Object.freeze(
  Object.fromEntries(optionKeys.map((key) => [key, table[key].default])),
) as ResolvedConfig

/** `maxRequestsJitter` → `max-requests-jitter` (flag) and `TROUPE_MAX_REQUESTS_JITTER` (env). */
export const flagName = (key: OptionKey) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
export const envName = (key: OptionKey) => `TROUPE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

export type { OptionKey }

export interface Resolved {
  readonly config: ResolvedConfig
  /** Where each value came from: `flag --workers`, `env WEB_CONCURRENCY`, `file troupe.config.ts`, `default`. */
  readonly sources: Readonly<Record<OptionKey, string>>
  /** Warning lines (`warning: … [TROUPE_W_…]`): renamed values, settings that do not apply. */
  readonly warnings: readonly string[]
  /** Set when `Layers.fit` changed a default to suit this Node: said in the serving line. */
  readonly note?: string
}

/** Changes defaults the running Node cannot serve (see preflight's fitToNode). */
export type Fit = (
  config: ResolvedConfig,
  sources: Readonly<Record<OptionKey, string>>,
) => { readonly config: ResolvedConfig; readonly note?: string }

export interface Layers {
  readonly file?: { readonly path: string; readonly values: Readonly<Record<string, unknown>> }
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Values from flags, keyed by config key. */
  readonly flags?: Readonly<Partial<Record<ConfigKey, unknown>>>
  /** Applied before the applies-to checks, so they judge the config that will be served. */
  readonly fit?: Fit
}

const show = (value: unknown): string =>
  typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value))

/** Merges the layers, validates every value, and remembers each value's source. */
export const resolveConfig = (layers: Layers): Resolved => {
  const values: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  const warnings: string[] = []
  const warn = (code: WarningCode, detail: string) => warnings.push(warningLine(code, detail))

  const set = (key: OptionKey, value: unknown, source: string, expected?: string, raw?: unknown) => {
    if (value === undefined) return
    const { type } = table[key]
    const renamed =
      typeof value === 'string' && type.renamed && Object.hasOwn(type.renamed, value)
        ? type.renamed[value]
        : undefined
    if (renamed) {
      warn(
        renamed.warning,
        `${key} "${value}" (from ${source}) is the old name of "${String(renamed.to)}"; read as ${String(renamed.to)}`,
      )
      value = renamed.to
    }
    const parsed = type.parse(value)
    if (parsed === undefined) {
      const got = type.show?.(raw ?? value, key) ?? show(raw ?? value)
      throw new ConfigError(`${key} must be ${expected ?? type.expected} (got ${got} from ${source})`)
    }
    values[key] = parsed
    sources[key] = source
  }

  for (const key of optionKeys) {
    values[key] = table[key].default
    sources[key] = 'default'
  }
  if (layers.file) {
    const { path } = layers.file
    for (const [key, value] of Object.entries(layers.file.values)) {
      if (!(key in table))
        throw new ConfigError(`${key} is not a troupe option (in ${path}); known: ${optionKeys.join(', ')}`)
      set(key as OptionKey, value, `file ${path}`)
    }
  }
  const env = layers.env ?? {}
  for (const key of configKeys) {
    for (const alias of table[key].envAliases ?? []) {
      const text = env[alias.name]
      if (text !== undefined) set(key, alias.read(text), `env ${alias.name}`, alias.expected, text)
    }
    set(key, env[envName(key)], `env ${envName(key)}`)
  }
  for (const key of configKeys) set(key, layers.flags?.[key], `flag --${flagName(key)}`)

  let config = values as unknown as ResolvedConfig
  const fitted = layers.fit?.(config, sources as Record<OptionKey, string>)
  if (fitted) {
    for (const key of optionKeys)
      if (fitted.config[key] !== config[key]) sources[key] = `default, fitted to Node ${process.version}`
    config = { ...fitted.config }
  }
  if (config.maxRequests === 0 && config.maxRequestsJitter > 0)
    throw new ConfigError(`maxRequestsJitter needs maxRequests > 0 (from ${sources.maxRequestsJitter})`)
  for (const key of optionKeys) {
    const appliesTo = table[key].appliesTo
    if (!appliesTo || sources[key] === 'default') continue
    for (const [setting, wanted] of Object.entries(appliesTo) as [keyof typeof appliesTo, string][]) {
      if (config[setting] === wanted) continue
      warn(
        'TROUPE_W_OPTION_NOT_APPLICABLE',
        `${key} (from ${sources[key]}) has no effect with ${setting} ${config[setting]} (from ${sources[setting]}); it applies to ${setting} ${wanted}`,
      )
    }
  }
  return {
    config: Object.freeze(config),
    sources: Object.freeze(sources) as Record<OptionKey, string>,
    warnings,
    ...(fitted?.note ? { note: fitted.note } : {}),
  }
}
