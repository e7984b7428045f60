/**
 * The command line of the commands that steer a running master (`troupe tree`, `scale`, …):
 * each takes only its own flags, and a mistake is one line with a suggestion.
 */
import { parseArgs } from 'node:util'
import { UsageError } from './cli-args.ts'
import { suggest } from './suggest.ts'

export const controlOptions = {
  control: {
    metavar: 'PATH',
    description:
      "the master's control socket (default: the master named by --name, else the only one running)",
  },
  name: { metavar: 'NAME', description: 'the master started with --name NAME' },
  json: { description: 'print JSON carrying every field' },
  fast: { description: 'cut connections at once (like QUIT) instead of draining them (like TERM)' },
  timeout: {
    metavar: 'SECONDS',
    description: 'give up waiting for the outcome after SECONDS (default 120) and exit 1',
  },
  interval: { metavar: 'SECONDS', description: 'refresh every SECONDS (default 1)' },
  debug: { description: 'print stack traces with errors' },
  help: { short: 'h', description: 'print the help of the command and exit' },
} as const satisfies Record<string, { metavar?: string; short?: string; description: string }>
export type ControlOption = keyof typeof controlOptions

export interface ControlCommandSpec {
  readonly summary: string
  readonly about: string
  /** What follows the command (`N|+N|-N`), if anything. */
  readonly argument?: string
  /** Its flags besides --help and --debug (and --control/--name, unless `targetless`). */
  readonly flags: readonly ControlOption[]
  /** Lists masters rather than talking to one. */
  readonly targetless?: true
}

export const controlCommands = {
  ls: {
    summary: 'list the masters running on this machine: name, pid, binds, workers, uptime',
    about:
      "Lists every master whose control socket is in this user's control directory, and says where it looked.",
    flags: ['json'],
    targetless: true,
  },
  tree: {
    summary: 'print the live supervision tree: every supervisor, worker and app actor',
    about:
      'Prints the supervision tree of a running master: path, placement, pid/thread, state, uptime, restarts, requests, in flight, memory, event-loop use, last exit.',
    flags: ['json'],
  },
  stats: {
    summary: 'print a complete snapshot: listeners, workers, app actors, totals, the resolved config',
    about:
      'Prints what the master knows: listeners, workers with their counters and latency, app actors, totals, exits by reason, the resolved config.',
    flags: ['json'],
  },
  reload: {
    summary: 'reload code and config (as HUP); wait until the new generation serves and the old one drained',
    about:
      'Reloads like HUP: re-reads the config, starts a new generation, switches to it once ready, drains the old one. Exits 1 if the reload fails (the old generation keeps serving).',
    flags: ['timeout'],
  },
  scale: {
    summary: 'set the number of workers (N), or change it (+N, -N)',
    about:
      'Scales the serving generation to N workers, or by +N/-N; waits until the new workers are ready or the removed ones drained.',
    argument: 'N|+N|-N',
    flags: ['timeout'],
  },
  kill: {
    summary: 'kill one worker (SIGKILL / terminate); wait for its supervisor to replace it',
    about:
      'Kills the worker (its id, as in troupe tree: w1, w2, …) at once, then waits until its replacement is ready.',
    argument: 'WORKER',
    flags: ['timeout'],
  },
  restart: {
    summary: 'restart one app actor, keeping the messages waiting for it; wait until it is ready again',
    about:
      'Stops the app actor (its name, as in troupe tree: counter, or its path /troupe/actors/counter) gracefully and starts it again under its supervisor; what was sent to it meanwhile waits for the new incarnation. Waits until it is ready. Workers are refused: troupe kill replaces one.',
    argument: 'ACTOR',
    flags: ['json', 'timeout'],
  },
  top: {
    summary: 'a live view of a running master: workers, req/s, latency, errors, queue, memory',
    about:
      'Shows the master full-screen, refreshed every --interval seconds; keys reload it (r), add or remove a worker (+, -), kill the selected one (arrows, k) and quit (q).',
    flags: ['interval'],
  },
  'log-level': {
    summary: 'set the log level of the master and its workers now (debug, info, warn, error, silent)',
    about:
      "Sets the log level of the master and every worker (and of workers started later) until a reload applies the config's again.",
    argument: 'LEVEL',
    flags: [],
  },
  stop: {
    summary: 'stop the master: drain (as TERM), or --fast (as QUIT); wait until it exited',
    about:
      'Stops the master gracefully (connections drain within gracefulTimeout), or at once with --fast, and waits until it has exited.',
    flags: ['fast', 'timeout'],
  },
} as const satisfies Record<string, ControlCommandSpec>
export type ControlCommand = keyof typeof controlCommands

export interface ControlParsed {
  readonly command: ControlCommand
  readonly argument: string | undefined
  readonly control: string | undefined
  readonly name: string | undefined
  readonly json: boolean
  readonly fast: boolean
  readonly timeoutMs: number
  readonly intervalMs: number
  readonly debug: boolean
  readonly help: boolean
}

const seconds = (flag: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`option "--${flag}" needs a number of seconds > 0`)
  return Math.round(value * 1000)
}

/** The flags `command` takes. */
export const flagsOf = (command: ControlCommand): ControlOption[] => {
  const spec: ControlCommandSpec = controlCommands[command]
  return [...(spec.targetless ? [] : (['control', 'name'] as const)), ...spec.flags, 'debug', 'help']
}

/** `args` as given after the command's name. */
export const parseControlLine = (command: ControlCommand, args: readonly string[]): ControlParsed => {
  const spec: ControlCommandSpec = controlCommands[command]
  const allowed = flagsOf(command)
  const options = Object.fromEntries(
    allowed.map((flag) => {
      const o = controlOptions[flag] as { metavar?: string; short?: string }
      return [
        flag,
        {
          type: o.metavar ? ('string' as const) : ('boolean' as const),
          ...(o.short ? { short: o.short } : {}),
        },
      ]
    }),
  )
  // `scale -1` is a count, not a flag.
  const counts = args.filter((a) => /^[+-]\d+$/.test(a))
  const { values, positionals, tokens } = parseArgs({
    args: args.filter((a) => !counts.includes(a)),
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    if (!(token.name in options)) {
      const hint = suggest(
        token.name,
        Object.keys(controlOptions).filter((f) => allowed.includes(f as ControlOption)),
      )
      throw new UsageError(
        `unknown option "${token.rawName}" for ${command}${hint ? ` (did you mean --${hint}?)` : ''}`,
      )
    }
    const takes = (options[token.name] as { type: string }).type === 'string'
    if (!takes && token.value !== undefined) throw new UsageError(`option "${token.rawName}" takes no value`)
    if (takes && token.value === undefined) throw new UsageError(`option "${token.rawName}" needs a value`)
  }
  const rest = [...counts, ...positionals]
  const help = values.help === true
  if (!help && spec.argument && rest.length === 0)
    throw new UsageError(`troupe ${command} needs ${spec.argument} (troupe ${command} ${spec.argument})`)
  const extra = spec.argument ? rest.slice(1) : rest
  if (extra.length > 0) throw new UsageError(`troupe ${command}: unexpected argument "${extra[0]}"`)
  const text = (name: string) => values[name] as string | undefined
  return {
    command,
    argument: spec.argument ? rest[0] : undefined,
    control: text('control'),
    name: text('name'),
    json: values.json === true,
    fast: values.fast === true,
    timeoutMs: seconds('timeout', text('timeout'), 120_000),
    intervalMs: seconds('interval', text('interval'), 1_000),
    debug: values.debug === true,
    help,
  }
}
