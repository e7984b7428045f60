/**
 * The command line: `troupe <command> [APP] [options]`. Every option of the table (options.ts)
 * is a flag; a few more steer the command itself (`--config`, `--chdir`, `--debug`). Parsing is
 * checked here so a mistake is one line naming the culprit.
 */
import { parseArgs } from 'node:util'
import { type ConfigKey, configKeys, flagName } from './config.ts'
import { optionTable } from './options.ts'
import { suggest } from './suggest.ts'

export const commands = {
  serve: {
    summary: 'start the master, its acceptor and workers',
    about:
      'Starts the master, which serves nothing itself: its acceptor hands connections to workers that run APP.',
  },
  check: {
    summary: 'validate the config and the app, print each resolved value and its source',
    about:
      'Resolves the config exactly as serve does, loads APP, and prints every value and where it came from; refuses what serve refuses.',
  },
} as const
export type Command = keyof typeof commands

/** Options of the command itself, not of the server: no config key, no environment variable. */
export const commandOptions = {
  config: { metavar: 'FILE', description: 'config file (default: ./troupe.config.ts if present)' },
  chdir: { metavar: 'DIR', description: 'change to DIR before loading the config and the app' },
  debug: { description: 'print stack traces with errors' },
  help: { short: 'h', description: 'print the help of the command and exit' },
  version: { short: 'v', description: 'print the version and exit' },
} as const satisfies Record<string, { metavar?: string; short?: string; description: string }>

const parseOptions = {
  ...Object.fromEntries(
    configKeys.map((key) => {
      const { type } = optionTable[key]
      return [
        flagName(key),
        type.switch
          ? { type: 'boolean' as const }
          : { type: 'string' as const, ...(type.repeatable ? { multiple: true } : {}) },
      ]
    }),
  ),
  ...Object.fromEntries(
    Object.entries(commandOptions).map(([name, spec]) => [
      name,
      {
        type: 'metavar' in spec ? ('string' as const) : ('boolean' as const),
        ...('short' in spec ? { short: spec.short } : {}),
      },
    ]),
  ),
} as Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>

/** Flags of on/off options: only these have a `--no-` form. */
const switchFlags = new Set(configKeys.filter((key) => optionTable[key].type.switch).map(flagName))

export class UsageError extends Error {}

export interface Parsed {
  readonly command: string | undefined
  readonly app: string | undefined
  /** Flag values by config key. */
  readonly flags: Partial<Record<ConfigKey, unknown>>
  readonly config: string | undefined
  readonly chdir: string | undefined
  readonly debug: boolean
  readonly help: boolean
  readonly version: boolean
}

export const parseCommandLine = (args: readonly string[]): Parsed => {
  // Non-strict parsing with tokens, checked here: strict parseArgs reports an unknown option
  // in a paragraph, and a usage error should be one line naming the culprit.
  const { values, positionals, tokens } = parseArgs({
    args: [...args],
    options: parseOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
    // `--no-http2`: a switch that defaults to on is turned off the way users expect.
    allowNegative: true,
  })
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const spec = parseOptions[token.name]
    if (!spec) {
      const hint = suggest(token.name, Object.keys(parseOptions))
      throw new UsageError(`unknown option "${token.rawName}"${hint ? ` (did you mean --${hint}?)` : ''}`)
    }
    if (token.rawName.startsWith('--no-') && !switchFlags.has(token.name))
      throw new UsageError(`option "${token.rawName}": only on/off options have a --no- form`)
    if (spec.type === 'boolean' && token.value !== undefined)
      throw new UsageError(`option "${token.rawName}" takes no value`)
    if (spec.type === 'string' && token.value === undefined)
      throw new UsageError(`option "${token.rawName}" needs a value`)
  }
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`)
  const flags: Partial<Record<ConfigKey, unknown>> = {}
  for (const key of configKeys) {
    const value = values[flagName(key)]
    if (value !== undefined) flags[key] = value
  }
  const text = (name: string) => values[name] as string | undefined
  return {
    command: positionals[0],
    app: positionals[1],
    flags,
    config: text('config'),
    chdir: text('chdir'),
    debug: values.debug === true,
    help: values.help === true,
    version: values.version === true,
  }
}
