/**
 * `--help` and the README's options table, both written from the option table, so neither can
 * drift from what the command accepts.
 */
import { type Command, commandOptions, commands } from './cli-args.ts'
import { configKeys, envName, flagName, type OptionKey, optionKeys } from './config.ts'
import {
  type ControlCommand,
  type ControlCommandSpec,
  controlCommands,
  controlOptions,
  flagsOf,
} from './control-args.ts'
import { type OptionSpec, optionTable } from './options.ts'

const table = optionTable as unknown as Record<OptionKey, OptionSpec<unknown, unknown>>

const groups = {
  app: 'App',
  listen: 'Listening',
  workers: 'Workers',
  lifecycle: 'Lifecycle',
  http: 'HTTP',
  operate: 'Operations',
} as const

/** A value as a user would write it on the command line. */
const formatValue = (key: OptionKey, value: unknown): string => {
  if (value === null) return 'none'
  if (key === 'socketMode' && typeof value === 'number') return `0o${value.toString(8)}`
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ')
  const unit = table[key].unit
  return unit ? `${value} ${unit}` : String(value)
}

/** `placement process`, or '' when the option always applies. */
const appliesText = (key: OptionKey): string =>
  Object.entries(table[key].appliesTo ?? {})
    .map(([setting, value]) => `${setting} ${value}`)
    .join(', ')

/** The README's row for an option: key, flag, environment variables, default, applies to, meaning. */
export interface OptionRow {
  readonly key: string
  readonly flag: string
  readonly env: string
  readonly default: string
  readonly appliesTo: string
  readonly description: string
}

/** `--flag METAVAR`; a switch that is on by default shows its way off, `--[no-]flag`. */
const flagText = (key: OptionKey): string => {
  const spec = table[key]
  if (spec.type.switch && spec.default === true) return `--[no-]${flagName(key)}`
  return `--${flagName(key)}${spec.type.metavar ? ` ${spec.type.metavar}` : ''}`
}

export const optionRows = (): OptionRow[] =>
  optionKeys.map((key) => {
    const spec = table[key]
    const file = !spec.fileOnly
    return {
      key,
      flag: file ? flagText(key) : '',
      env: file ? [...(spec.envAliases ?? []).map((a) => a.name), envName(key)].join(', ') : '',
      default: formatValue(key, spec.default),
      appliesTo: appliesText(key),
      description: spec.description,
    }
  })

const WIDTH = 100
const COLUMN = 32

/** `  --flag METAVAR` then the description, wrapped under its column. */
const entry = (left: string, text: string): string => {
  const indent = ' '.repeat(COLUMN)
  const lines: string[] = []
  // A left part too long for its column gets a line of its own.
  if (left.length >= COLUMN - 1) lines.push(left)
  let line = left.length >= COLUMN - 1 ? indent : left.padEnd(COLUMN)
  let fresh = true
  for (const word of text.split(' ')) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line)
      line = indent
      fresh = true
    }
    line += fresh ? word : ` ${word}`
    fresh = false
  }
  lines.push(line)
  return lines.join('\n')
}

const optionLine = (key: OptionKey): string => {
  const spec = table[key]
  const applies = appliesText(key)
  // NUL holds a value and its unit together through the wrapping ("60 s", never "60" then "s").
  const value = formatValue(key, spec.default).replaceAll(' ', '\0')
  const notes = [`default ${value}`, ...(applies ? [`only with ${applies}`] : [])]
  const left = `  ${flagText(key)}`
  return entry(left, `${spec.description} (${notes.join('; ')})`).replaceAll('\0', ' ')
}

const commandOptionLines = (names: readonly (keyof typeof commandOptions)[]): string[] =>
  names.map((name) => {
    const spec = commandOptions[name]
    const short = 'short' in spec ? `-${spec.short}, ` : ''
    const metavar = 'metavar' in spec ? ` ${spec.metavar}` : ''
    return entry(`  ${short}--${name}${metavar}`, spec.description)
  })

const signalsHelp = [
  'Signals to the master (the pid on its "serving" line, or in --pid FILE): TERM/INT graceful stop,',
  'QUIT fast stop, HUP reload, TTIN/TTOU one worker more/less, USR2 upgrade troupe itself (a new',
  'master takes the listeners over; the pid file moves to FILE.oldbin); USR1 reopen log files.',
].join('\n')

/** `troupe --help`: the commands. */
export const usage = (): string =>
  [
    'Usage: troupe <command> [APP] [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => entry(`  ${name} [APP]`, c.summary)),
    '',
    'Steering a running master (through its control socket; --name NAME or --control PATH picks one):',
    ...Object.entries(controlCommands).map(([name, c]) =>
      entry(`  ${name}${'argument' in c ? ` ${c.argument}` : ''}`, c.summary),
    ),
    '',
    'Options:',
    ...commandOptionLines(['help', 'version']),
    '',
    "Run `troupe <command> --help` for the command's options. Every option: see README.md.",
    '',
  ].join('\n')

/** `troupe serve --help`, `troupe check --help`: the command's options, grouped as in the table. */
export const commandHelp = (command: Command): string => {
  const sections: string[] = []
  for (const [group, title] of Object.entries(groups)) {
    const keys = configKeys.filter((key) => table[key].group === group)
    if (keys.length > 0) sections.push(`${title}:`, ...keys.map(optionLine), '')
  }
  return [
    `Usage: troupe ${command} [APP] [options]`,
    '',
    commands[command].about,
    'APP is PATH, or PATH:EXPORT for a named export (default: the app key of the config, else ./app.ts).',
    '',
    ...sections,
    'Command:',
    ...commandOptionLines(['config', 'chdir', 'debug', 'help']),
    '',
    'Each option --foo-bar is also the key fooBar in troupe.config.ts and the environment variable',
    'TROUPE_FOO_BAR. Precedence: flags > environment > config file > defaults.',
    ...(command === 'serve' ? ['', signalsHelp] : []),
    '',
  ].join('\n')
}

/** `troupe tree --help` and the other steering commands: their own flags only. */
export const controlHelp = (command: ControlCommand): string => {
  const spec: ControlCommandSpec = controlCommands[command]
  const lines = flagsOf(command).map((flag) => {
    const o = controlOptions[flag] as { metavar?: string; short?: string; description: string }
    return entry(
      `  ${o.short ? `-${o.short}, ` : ''}--${flag}${o.metavar ? ` ${o.metavar}` : ''}`,
      o.description,
    )
  })
  return [
    `Usage: troupe ${command}${spec.argument ? ` ${spec.argument}` : ''} [options]`,
    '',
    spec.about,
    '',
    'Options:',
    ...lines,
    '',
  ].join('\n')
}
