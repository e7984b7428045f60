#!/usr/bin/env node
/**
 * The `troupe` command: `serve` runs the master, `check` validates and prints the resolved
 * config. A mistake is one line on stderr naming the problem (and its code), no stack
 * trace unless --debug.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { ConfigError } from '../errors.ts'
import {
  type ConfigKey,
  configKeys,
  flagName,
  type Layers,
  type Resolved,
  resolveConfig,
  type TroupeConfig,
} from './config.ts'

const usage = `Usage: troupe <command> [options]

Commands:
  serve [APP]   start the master, its acceptor and workers (default app: from troupe.config.ts)
  check [APP]   validate the config and the app, print each resolved value and its source

Options (each has a key in troupe.config.ts; precedence: flags > env > file > defaults):
  --config FILE               config file (default: ./troupe.config.ts if present)
  --bind ADDR                 HOST:PORT or unix:PATH; repeat for several (default 127.0.0.1:8000)
  --workers N                 worker count (env WEB_CONCURRENCY)
  --placement thread|process  where workers run (default thread)
  --kind coroutine|threads    event-loop workers, or a thread pool per worker (default coroutine)
  --threads N                 pool threads per worker, for --kind threads (default 4)
  --connections N             requests per worker at once; past it 503 (default 1000)
  --strategy handoff|reuseport  how connections reach workers (default handoff)
  --timeout S                 request timeout (504) and worker heartbeat timeout (default 30)
  --graceful-timeout S        time to finish requests on stop/reload (default 30)
  --keep-alive S              idle keep-alive timeout (default 5)
  --max-requests N            recycle a worker after N requests (default 0: never)
  --max-requests-jitter N     add 0..N to max-requests per worker
  --backlog N                 listen backlog (default 2048)
  --debug                     print stack traces with errors
  -h, --help                  print this help and exit
  -v, --version               print the version and exit

Signals to the master: TERM/INT graceful stop, QUIT fast stop, HUP reload,
TTIN/TTOU one worker more/less. Every option: see README.md.
`

const readVersion = (): string => {
  // From source this file is runtime/master/cli.ts; built, it is dist/cli.js.
  const up = import.meta.url.endsWith('.ts') ? '../../package.json' : '../package.json'
  const manifest = readFileSync(new URL(up, import.meta.url), 'utf8')
  return (JSON.parse(manifest) as { version: string }).version
}

const flagOptions = Object.fromEntries(
  configKeys.map((key) => [
    flagName(key),
    { type: 'string' as const, ...(key === 'bind' ? { multiple: true } : {}) },
  ]),
)
const options = {
  ...flagOptions,
  config: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

class UsageError extends Error {}

interface Parsed {
  readonly command: string | undefined
  readonly app: string | undefined
  readonly values: Record<string, unknown>
}

const parse = (args: readonly string[]): Parsed => {
  // Non-strict parsing with tokens, checked here: strict parseArgs reports an unknown option
  // in a paragraph, and a usage error should be one line naming the culprit.
  const { values, positionals, tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const spec = (options as Record<string, { type: string }>)[token.name]
    if (!spec) throw new UsageError(`unknown option "${token.rawName}"`)
    if (spec.type === 'boolean' && token.value !== undefined)
      throw new UsageError(`option "${token.rawName}" takes no value`)
    if (spec.type === 'string' && token.value === undefined)
      throw new UsageError(`option "${token.rawName}" needs a value`)
  }
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`)
  return { command: positionals[0], app: positionals[1], values }
}

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
  const config = { ...(values as TroupeConfig) } as Record<string, unknown>
  // The app path in a config file is relative to that file.
  if (typeof config.app === 'string') config.app = resolve(dirname(file), config.app)
  return { path: file, values: config }
}

/**
 * Reads every layer afresh (HUP re-reads the file), resolves them, and fits what was left to
 * its default to this Node (`note` says what changed, for the serving line).
 */
const resolveAll = async (parsed: Parsed): Promise<Resolved & { readonly note?: string }> => {
  const file = await loadConfigFile(parsed.values.config as string | undefined)
  const flags: Partial<Record<ConfigKey, unknown>> = {}
  for (const key of configKeys) {
    const value = parsed.values[flagName(key)]
    if (value !== undefined) flags[key] = value
  }
  if (parsed.app !== undefined) flags.app = parsed.app
  if (typeof flags.app === 'string') flags.app = resolve(flags.app)
  const env = { ...process.env }
  if (typeof env.TROUPE_APP === 'string') env.TROUPE_APP = resolve(env.TROUPE_APP)
  const resolved = resolveConfig({ ...(file ? { file } : {}), env, flags })
  const { fitToNode } = await import('./preflight.ts')
  return { ...resolved, ...fitToNode(resolved.config, resolved.sources) }
}

const say = (line: string) => process.stderr.write(`troupe: ${line}\n`)

const check = async (parsed: Parsed): Promise<number> => {
  const { config, sources } = await resolveAll(parsed)
  const { loadApp } = await import('../../apps/app.ts')
  const app = await loadApp(pathToFileURL(config.app).href)
  const { preflight } = await import('./preflight.ts')
  preflight(config, app)
  const width = Math.max(...configKeys.map((k) => k.length))
  for (const key of configKeys) {
    const value = key === 'socketMode' ? `0o${config.socketMode.toString(8)}` : JSON.stringify(config[key])
    process.stdout.write(`${key.padEnd(width)}  ${value}  (${sources[key]})\n`)
  }
  const names = (list: readonly { definition: { name: string } }[]) => list.map((a) => a.definition.name)
  const { normalizeActors } = await import('../../apps/app.ts')
  process.stdout.write(
    `${'actors'.padEnd(width)}  ${JSON.stringify(names(normalizeActors(config.actors)))}  (${sources.actors})\n`,
  )
  process.stdout.write(`app ${app.name}: ${app.style} style, actors ${JSON.stringify(names(app.actors))}\n`)
  return 0
}

const serve = async (parsed: Parsed): Promise<number> => {
  const { config, note } = await resolveAll(parsed)
  const { startServer } = await import('./master.ts')
  // Signals are taken from the start: a TERM during start-up stops cleanly once started.
  type Server = Awaited<ReturnType<typeof startServer>>
  let server: Server | undefined
  let stopping: Promise<void> | undefined
  let stopRequested: boolean | undefined
  let done: (code: number) => void = () => {}
  const finished = new Promise<number>((resolve) => {
    done = resolve
  })
  const stop = (graceful: boolean) => {
    if (!server) {
      stopRequested = stopRequested === undefined ? graceful : stopRequested && graceful
      return
    }
    if (stopping) {
      if (!graceful) return
      // A second INT/TERM while draining: stop now.
      say('stopping now')
      void server.stop({ graceful: false })
      return
    }
    say(graceful ? 'graceful stop: draining' : 'fast stop')
    stopping = server.stop({ graceful }).then(() => done(0))
  }
  const withServer = (fn: (s: Server) => Promise<unknown>) => () => {
    if (server && !stopping) void fn(server).catch((error: Error) => say(describe(error)))
  }
  process.on('SIGTERM', () => stop(true))
  process.on('SIGINT', () => stop(true))
  process.on('SIGQUIT', () => stop(false))
  process.on(
    'SIGHUP',
    withServer(async (s) => {
      say('reloading')
      const { config: next } = await resolveAll(parsed)
      await s.reload(next).catch((error: Error) => {
        throw new Error(`reload failed, the old workers keep serving: ${describe(error)}`)
      })
    }),
  )
  process.on(
    'SIGTTIN',
    withServer((s) => s.scale(s.config.workers + 1)),
  )
  process.on(
    'SIGTTOU',
    // At one worker the server refuses, and logs why.
    withServer((s) => s.scale(s.config.workers - 1)),
  )
  server = await startServer(config, { log: say })
  say(
    `serving ${config.app} on ${server.addresses.join(', ')} — ${config.workers} ${config.placement} worker(s), ` +
      `${config.kind}, ${config.strategy} (pid ${process.pid}${note ? `; ${note}` : ''})`,
  )
  if (stopRequested !== undefined) stop(stopRequested)
  return finished
}

const describe = (error: Error): string => {
  const code = (error as { code?: string }).code
  return code?.startsWith('TROUPE_E_') ? `${error.message} [${code}]` : error.message
}

const main = async (args: readonly string[]): Promise<number> => {
  let parsed: Parsed
  try {
    parsed = parse(args)
  } catch (error) {
    say(`${(error as Error).message} (see troupe --help)`)
    return 2
  }
  if (parsed.values.help) {
    process.stdout.write(usage)
    return 0
  }
  if (parsed.values.version) {
    process.stdout.write(`${readVersion()}\n`)
    return 0
  }
  try {
    if (parsed.command === 'serve') return await serve(parsed)
    if (parsed.command === 'check') return await check(parsed)
  } catch (error) {
    say(describe(error as Error))
    if (parsed.values.debug) process.stderr.write(`${(error as Error).stack}\n`)
    return 1
  }
  if (parsed.command === undefined) {
    process.stderr.write(usage)
    return 2
  }
  say(`unknown command "${parsed.command}" (see troupe --help)`)
  return 2
}

// exitCode rather than exit(): piped stdout gets to flush. Exit explicitly once serving ended,
// since stray handles of a stopped app must not keep the master alive.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  if (code === 0 && process.argv[2] === 'serve') setImmediate(() => process.exit(0))
})
