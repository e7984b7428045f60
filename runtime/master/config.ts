/**
 * The config DSL: `troupe.config.ts` default-exports `defineConfig({...})`. Every CLI flag
 * has a key here. Values come from, in order of precedence: flags > environment (`PORT`,
 * `WEB_CONCURRENCY`, `TROUPE_*`) > the config file > defaults. Each resolved value keeps
 * its source so `troupe check` can say where it came from, and every error names the
 * option, the source and what was expected.
 */
import type { AppActor } from '../../apps/app.ts'
import { ConfigError } from '../errors.ts'

export interface TroupeConfig {
  /** The app module (path relative to the config file, or to the working directory for flags). */
  readonly app?: string
  /** `HOST:PORT`, `[V6]:PORT` or `unix:PATH`; one or several. */
  readonly bind?: string | readonly string[]
  /** Number of workers. */
  readonly workers?: number
  readonly placement?: 'thread' | 'process'
  readonly kind?: 'coroutine' | 'thread-pool'
  /** Pool threads per worker, for kind `thread-pool`. */
  readonly threads?: number
  /** Kind `thread-pool`: requests that may wait for a pool thread; past it, 503. 0: 16 × threads. */
  readonly threadQueue?: number
  /** Requests one worker serves at once; past it, 503 with Retry-After. */
  readonly connections?: number
  readonly strategy?: 'handoff' | 'reuseport'
  /** Seconds: a request past it gets 504; a worker silent this long is killed and replaced. */
  readonly timeout?: number
  /** Seconds a stopping or reloading worker has to finish its requests. */
  readonly gracefulTimeout?: number
  /** Seconds an idle keep-alive connection stays open. */
  readonly keepAlive?: number
  /** Seconds a client has to send the request head. */
  readonly headersTimeout?: number
  /** Recycle a worker after this many requests (0: never). */
  readonly maxRequests?: number
  /** Adds 0..N to each worker's maxRequests, so workers do not recycle together. */
  readonly maxRequestsJitter?: number
  /** Listen backlog. */
  readonly backlog?: number
  /** File mode of Unix socket files, e.g. 0o660 or "660". */
  readonly socketMode?: number | string
  readonly maxHeaderSize?: number
  readonly maxHeaders?: number
  readonly maxBodySize?: number
  /** MB. Thread: V8 heap limit (resourceLimits). Process: RSS hard limit, the worker is killed. */
  readonly memory?: number
  /** MB. Process: RSS soft limit, the worker is recycled gracefully. */
  readonly memorySoft?: number
  /** Seconds a worker lives at least before it may be recycled. */
  readonly minLifetime?: number
  /** Connections that may wait in the acceptor while no worker is ready. */
  readonly acceptQueue?: number
  /**
   * App actors registered by the config rather than the app (file only: no flag or env):
   * definitions, or `{ actor, options }` with their placement and supervision.
   */
  readonly actors?: readonly AppActor[]
}

/** Marks a config object; keeps the types in the user's editor. */
export const defineConfig = (config: TroupeConfig): TroupeConfig => config

/** The defaults, with units. */
export const configDefaults = {
  app: './app.ts',
  bind: ['127.0.0.1:8000'],
  workers: 1,
  placement: 'thread',
  kind: 'coroutine',
  threads: 4,
  threadQueue: 0, // 0: 16 × threads
  connections: 1_000,
  strategy: 'handoff',
  timeout: 30, // s
  gracefulTimeout: 30, // s
  keepAlive: 5, // s
  headersTimeout: 60, // s
  maxRequests: 0,
  maxRequestsJitter: 0,
  backlog: 2_048,
  socketMode: 0o660,
  maxHeaderSize: 16_384, // bytes (node:http's default)
  maxHeaders: 100,
  maxBodySize: 10 * 1024 * 1024, // 10 MiB
  memory: 0, // MB, 0: no limit
  memorySoft: 0, // MB, 0: no limit
  minLifetime: 0, // s
  acceptQueue: 1_024,
} as const

export type ConfigKey = keyof typeof configDefaults
export type Source = 'default' | 'file' | 'env' | 'flag'

export interface ResolvedConfig {
  readonly app: string
  readonly bind: readonly string[]
  readonly workers: number
  readonly placement: 'thread' | 'process'
  readonly kind: 'coroutine' | 'thread-pool'
  readonly threads: number
  readonly threadQueue: number
  readonly connections: number
  readonly strategy: 'handoff' | 'reuseport'
  readonly timeout: number
  readonly gracefulTimeout: number
  readonly keepAlive: number
  readonly headersTimeout: number
  readonly maxRequests: number
  readonly maxRequestsJitter: number
  readonly backlog: number
  readonly socketMode: number
  readonly maxHeaderSize: number
  readonly maxHeaders: number
  readonly maxBodySize: number
  readonly memory: number
  readonly memorySoft: number
  readonly minLifetime: number
  readonly acceptQueue: number
  readonly actors: readonly AppActor[]
}

export interface Resolved {
  readonly config: ResolvedConfig
  /** Where each value came from: `flag --workers`, `env WEB_CONCURRENCY`, `file troupe.config.ts`, `default`. */
  readonly sources: Readonly<Record<ConfigKey | 'actors', string>>
}

type Check = (value: unknown) => unknown | undefined

const oneOf =
  (...options: string[]): Check =>
  (v) =>
    typeof v === 'string' && options.includes(v) ? v : undefined
const integer =
  (min: number): Check =>
  (v) => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
    return typeof n === 'number' && Number.isInteger(n) && n >= min ? n : undefined
  }
const seconds: Check = (v) => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined
}
const text: Check = (v) => (typeof v === 'string' && v.length > 0 ? v : undefined)
const binds: Check = (v) => {
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v
  return Array.isArray(list) && list.length > 0 && list.every((b) => typeof b === 'string' && b.length > 0)
    ? list
    : undefined
}
const mode: Check = (v) => {
  // Octal digits only, whole string, optional 0o: parseInt alone would read "0o660" as 0.
  const n =
    typeof v === 'string'
      ? /^(?:0o)?[0-7]{1,4}$/.test(v)
        ? Number.parseInt(v.replace(/^0o/, ''), 8)
        : NaN
      : v
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0o777 ? n : undefined
}

const rules: Record<ConfigKey, [Check, string]> = {
  app: [text, 'a path to the app module'],
  bind: [binds, 'HOST:PORT, [V6]:PORT or unix:PATH (one or a list)'],
  workers: [integer(1), 'an integer >= 1'],
  placement: [oneOf('thread', 'process'), 'one of thread, process'],
  // `threads` was the thread-pool kind's first name; it read like a typo beside `--placement thread`.
  kind: [
    (v) => (v === 'threads' ? 'thread-pool' : oneOf('coroutine', 'thread-pool')(v)),
    'one of coroutine, thread-pool',
  ],
  threads: [integer(1), 'an integer >= 1'],
  threadQueue: [integer(0), 'an integer >= 0 (0: 16 × threads)'],
  connections: [integer(1), 'an integer >= 1'],
  strategy: [oneOf('handoff', 'reuseport'), 'one of handoff, reuseport'],
  timeout: [seconds, 'a number of seconds > 0'],
  gracefulTimeout: [seconds, 'a number of seconds > 0'],
  keepAlive: [seconds, 'a number of seconds > 0'],
  headersTimeout: [seconds, 'a number of seconds > 0'],
  maxRequests: [integer(0), 'an integer >= 0 (0: never recycle)'],
  maxRequestsJitter: [integer(0), 'an integer >= 0'],
  backlog: [integer(1), 'an integer >= 1'],
  socketMode: [mode, 'a file mode such as 0o660 or "660"'],
  maxHeaderSize: [integer(1024), 'an integer >= 1024 (bytes)'],
  maxHeaders: [integer(1), 'an integer >= 1'],
  maxBodySize: [integer(0), 'an integer >= 0 (bytes)'],
  memory: [integer(0), 'an integer >= 0 (MB; 0: no limit)'],
  memorySoft: [integer(0), 'an integer >= 0 (MB; 0: no limit)'],
  minLifetime: [integer(0), 'an integer >= 0 (seconds)'],
  acceptQueue: [integer(0), 'an integer >= 0'],
}

export const configKeys = Object.keys(configDefaults) as ConfigKey[]

const isDefinition = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { name?: unknown }).name === 'string' &&
  typeof (value as { behaviour?: unknown }).behaviour === 'object'

const checkActors = (value: unknown, file: string): readonly AppActor[] => {
  const list = value as unknown[]
  if (!Array.isArray(list))
    throw new ConfigError(
      `actors must be a list of actor definitions (got ${typeof value} from file ${file})`,
    )
  list.forEach((entry, i) => {
    const definition = isDefinition(entry) ? entry : (entry as { actor?: unknown } | null)?.actor
    if (!isDefinition(definition))
      throw new ConfigError(
        `actors[${i}] must be a defineActor(...) definition or { actor, options } (in file ${file})`,
      )
  })
  return list as AppActor[]
}

/** `maxRequestsJitter` → `max-requests-jitter` (flag) and `TROUPE_MAX_REQUESTS_JITTER` (env). */
export const flagName = (key: ConfigKey) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
export const envName = (key: ConfigKey) => `TROUPE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

export interface Layers {
  readonly file?: { readonly path: string; readonly values: Readonly<Record<string, unknown>> }
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Values from flags, keyed by config key. */
  readonly flags?: Readonly<Partial<Record<ConfigKey, unknown>>>
}

/** Merges the layers, validates every value, and remembers each value's source. */
export const resolveConfig = (layers: Layers): Resolved => {
  const values: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  const set = (key: ConfigKey, value: unknown, source: string) => {
    if (value === undefined) return
    const [check, expected] = rules[key]
    const checked = check(value)
    if (checked === undefined)
      throw new ConfigError(`${key} must be ${expected} (got ${JSON.stringify(value)} from ${source})`)
    values[key] = checked
    sources[key] = source
  }
  for (const key of configKeys) set(key, configDefaults[key], 'default')
  values.actors = []
  sources.actors = 'default'
  if (layers.file) {
    for (const key of Object.keys(layers.file.values)) {
      if (key === 'actors') {
        values.actors = checkActors(layers.file.values.actors, layers.file.path)
        sources.actors = `file ${layers.file.path}`
        continue
      }
      if (!(key in configDefaults))
        throw new ConfigError(
          `${key} is not a troupe option (in ${layers.file.path}); known: ${configKeys.join(', ')}`,
        )
      set(key as ConfigKey, layers.file.values[key], `file ${layers.file.path}`)
    }
  }
  const env = layers.env ?? {}
  if (env.PORT !== undefined) set('bind', `0.0.0.0:${env.PORT}`, 'env PORT')
  if (env.WEB_CONCURRENCY !== undefined) set('workers', env.WEB_CONCURRENCY, 'env WEB_CONCURRENCY')
  for (const key of configKeys) set(key, env[envName(key)], `env ${envName(key)}`)
  for (const key of configKeys) set(key, layers.flags?.[key], `flag --${flagName(key)}`)
  const config = values as unknown as ResolvedConfig
  if (config.maxRequests === 0 && config.maxRequestsJitter > 0)
    throw new ConfigError(`maxRequestsJitter needs maxRequests > 0 (from ${sources.maxRequestsJitter})`)
  return {
    config: Object.freeze(config),
    sources: Object.freeze(sources) as Record<ConfigKey | 'actors', string>,
  }
}
