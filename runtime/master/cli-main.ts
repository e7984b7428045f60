/**
 * The `troupe` command: `serve` runs the master, `check` validates and prints the resolved
 * config. A mistake is one line on stderr naming the problem (and its code), no stack
 * trace unless --debug. Loaded by cli.ts once the first worker thread is booting.
 */
import { dirname, resolve } from 'node:path'
import { parseAppRef } from '../../apps/app-ref.ts'
import { ConfigError } from '../errors.ts'
import { type ExitReason, givenUpBecause } from '../exit.ts'
import { earlyThreads, endEarlyThreads, startEarlyThreads } from '../placement/early-thread.ts'
import { type Command, commands, type Parsed, parseCommandLine, UsageError } from './cli-args.ts'
import type { ResolvedConfig } from './config.ts'
import { type ControlCommand, type ControlParsed, controlCommands, parseControlLine } from './control-args.ts'
import { httpWorkerEntry } from './early-start.ts'
import {
  createMasterLogger,
  describeError as describe,
  entry,
  type LogEntry,
  type LogFormat,
  type Logger,
  type LogLevel,
  type LogThreshold,
  send,
  setLogLevel,
  settleFormat,
  warningEntry,
} from './log.ts'
import { logFormats, logLevels } from './options.ts'
import { suggest } from './suggest.ts'
import { troupeVersion } from './version.ts'

// The environment as the master found it: what it sets for its workers (TROUPE_NAME) must not
// read as the user's on a reload.
const environment: Readonly<Record<string, string | undefined>> = { ...process.env }
/** Where the master started (before --chdir): a new master started on USR2 starts there too. */
const startDir = process.cwd()
// What only some commands need is imported when they run: `--version` and `--help` start fast.
const resolveAll = async (parsed: Parsed) => {
  const { resolveLayers } = await import('./config-file.ts')
  return resolveLayers(parsed, environment)
}

/**
 * The master logs to stderr (stdout stays the command's output: `check`'s listing, an access
 * log on `-`). Text lines name the server when it has a name (`troupe shop: …`); in json
 * format each line is a record. Until the config is read, the format and level come from the
 * flags and the environment alone.
 */
let logger: Logger | undefined
const sayEntry = (said: LogEntry) => {
  if (logger) send(logger, said)
  else process.stderr.write(`troupe: ${said.msg}\n`)
}
const say = (line: string, event = 'log', level: LogLevel = 'info') => sayEntry(entry(level, event, line))
const warn = (line: string) => sayEntry(warningEntry(line))
const fail = (error: Error) => sayEntry(entry('error', 'error', describe(error)))
const warnAll = (warnings: readonly string[]) => {
  for (const line of warnings) warn(line)
}
/** Forwards to the logger of the moment: a reload may replace it (a new name, format or level). */
const forwarding: Logger = {
  debug: (fields, msg) => logger?.debug(fields, msg),
  info: (fields, msg) => logger?.info(fields, msg),
  warn: (fields, msg) => logger?.warn(fields, msg),
  error: (fields, msg) => logger?.error(fields, msg),
}

/** One of `values`, else `fallback` (a wrong value is refused later, with the config's message). */
const pick = <V extends string>(values: readonly V[], value: unknown, fallback: V): V =>
  typeof value === 'string' && (values as readonly string[]).includes(value) ? (value as V) : fallback

/** The logger before the config is read: flags, then the environment, then auto. */
const startLogging = async (flags: Parsed['flags']) => {
  const format = pick<LogFormat>(logFormats, flags.logFormat ?? environment.TROUPE_LOG_FORMAT, 'auto')
  const level = pick<LogThreshold>(logLevels, flags.logLevel ?? environment.TROUPE_LOG_LEVEL, 'info')
  logger = await createMasterLogger({ format: settleFormat(format, process.stderr), level, name: null })
}

/** The logger as the config says: its format, level and the server's name. */
const configureLogging = async (config: ResolvedConfig): Promise<'text' | 'json'> => {
  const format = settleFormat(config.logFormat, process.stderr)
  logger = await createMasterLogger({ format, level: config.logLevel, name: config.name })
  return format
}

const check = async (parsed: Parsed): Promise<number> => {
  const resolved = await resolveAll(parsed)
  await configureLogging(resolved.config)
  warnAll(resolved.warnings)
  if (resolved.note) say(resolved.note, 'config.note')
  const { checkCommand } = await import('./check.ts')
  await checkCommand(resolved, (line) => process.stdout.write(`${line}\n`))
  return 0
}

/** The master's name in ps, in its log lines, and (through the environment) in its process workers' titles. */
const applyName = (name: string | null) => {
  process.title = name ? `troupe: master ${name}` : 'troupe: master'
  // Process workers inherit the environment; http-worker.ts titles them from it.
  if (name) process.env.TROUPE_NAME = name
  else delete process.env.TROUPE_NAME
}

const serve = async (parsed: Parsed): Promise<number> => {
  const resolved = await resolveAll(parsed)
  const { config, sources, note } = resolved
  const logFormat = await configureLogging(config)
  warnAll(resolved.warnings)
  applyName(config.name)
  // Thread workers of the default shape boot while the master loads the rest (early-thread.ts).
  if (config.placement === 'thread' && config.memory === 0)
    startEarlyThreads(config.workers - earlyThreads(), [httpWorkerEntry.href])
  else endEarlyThreads()
  const { startServer } = await import('./master.ts')
  const { Upgrader } = await import('./upgrade.ts')
  // Started by an old master's USR2: its listeners are this one's to adopt.
  const inheritance = (await import('./upgrade-protocol.ts')).readInheritance(environment)
  let pidFile: import('./pid-file.ts').PidFile | undefined
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
      say('stopping now', 'stop.fast')
      void server.stop({ graceful: false })
      return
    }
    say(graceful ? 'graceful stop: draining' : 'fast stop', graceful ? 'stop.graceful' : 'stop.fast')
    // Once a new master is starting, it holds the same Unix sockets: their files are its own.
    stopping = server.stop({ graceful, keepSocketFiles: upgrader.underWay }).then(() => done(0))
  }
  /** USR2: a new master runs the code on disk with this one's listeners; once it serves, this one drains and exits. */
  const upgrader = new Upgrader({
    server: () => (stopping ? undefined : server),
    environment,
    cwd: startDir,
    pidFile: () => pidFile,
    log: say,
    handOver: (pid) => {
      if (!server || stopping) return
      say(`upgrade: the new master (pid ${pid}) serves; this one (pid ${process.pid}) drains and exits`)
      stopping = server.stop({ graceful: true, keepSocketFiles: true }).then(() => done(0))
    },
  })
  const withServer = (fn: (s: Server) => Promise<unknown>) => () => {
    if (server && !stopping)
      void fn(server).catch((error: Error & { logged?: boolean }) => error.logged || fail(error))
  }
  /**
   * HUP and --reload: re-read the config file and the environment, start a new generation. A
   * failed reload is logged from its channel (reload.failed); a config that cannot be read, here.
   */
  const reloadFromDisk = async (s: Server) => {
    let next: Awaited<ReturnType<typeof resolveAll>>
    try {
      next = await resolveAll(parsed)
    } catch (error) {
      throw new Error(`reload failed, the old workers keep serving: ${describe(error as Error)}`, {
        cause: error,
      })
    }
    warnAll(next.warnings)
    await s.reload(next.config).catch((error: Error) => {
      // Logged already, from its channel; the control API's caller still hears why.
      throw Object.assign(
        new Error(`reload failed, the old workers keep serving: ${describe(error)}`, { cause: error }),
        {
          logged: true,
        },
      )
    })
    await configureLogging(next.config)
    applyName(next.config.name)
  }
  process.on('SIGTERM', () => stop(true))
  process.on('SIGINT', () => stop(true))
  process.on('SIGQUIT', () => stop(false))
  process.on(
    'SIGHUP',
    withServer(async (s) => {
      say('reloading', 'reload.signal')
      await reloadFromDisk(s)
    }),
  )
  // USR1, as logrotate expects: every worker opens its access log afresh at its path.
  process.on(
    'SIGUSR1',
    withServer((s) => s.reopenLogs()),
  )
  process.on(
    'SIGTTIN',
    withServer((s) => s.scale(s.config.workers + 1)),
  )
  process.on(
    'SIGTTOU',
    // At one worker, scale() refuses and logs why: the signal is not dropped silently.
    withServer((s) => s.scale(s.config.workers - 1)),
  )
  process.on('SIGUSR2', () => upgrader.request())
  if (config.pid !== null) pidFile = (await import('./pid-file.ts')).writePidFile(config.pid, sources.pid)
  const control = await import('./control/serve-control.ts')
  const claimed = await control.claimControl(config, environment, say)
  server = await startServer(config, {
    logger: forwarding,
    logFormat,
    onFailure: giveUp,
    controlPath: claimed?.path ?? null,
    ...(inheritance ? { inherit: inheritance.listeners } : {}),
    operations: {
      reload: () => reloadFromDisk(server!),
      stop,
      setLogLevel: (level) => {
        setLogLevel(level)
        return level
      },
    },
  })
  // Before the serving line (and an upgrade's ready): a new master's socket replaces the old one's.
  const controlServer = claimed ? await control.serveControl(claimed, server) : undefined
  void finished.then(() => controlServer?.close())
  say(
    `serving ${config.app} on ${server.addresses.join(', ')} — ${config.workers} ${config.placement} worker(s), ` +
      `${config.kind}, ${config.strategy} (pid ${process.pid}${note ? `; ${note}` : ''})`,
    'serving',
  )
  inheritance?.ready()
  if (config.reload) {
    const root = dirname(resolve(parseAppRef(config.app).module))
    const { reloadOnChange } = await import('./watch.ts')
    const watch = reloadOnChange(
      root,
      async () => {
        if (server && !stopping) await reloadFromDisk(server).catch(fail)
      },
      (line) => say(line, 'watch.change'),
    )
    say(`--reload: watching ${root}`, 'watch.start')
    void finished.then(() => watch.close())
  }
  if (stopRequested !== undefined) stop(stopRequested)
  return finished
}

/** Past the root supervisor nothing is supervised: say so in the log's format, exit 1 for systemd to see. */
const giveUp = (reason: ExitReason) => {
  say(`the root supervisor gave up (${givenUpBecause(reason)}); exiting`, 'supervisor.failed', 'error')
  process.exit(1)
}

/** --chdir: before the config file and the app are looked for, as gunicorn's --chdir. */
const changeDirectory = (dir: string) => {
  try {
    process.chdir(resolve(dir))
  } catch (error) {
    throw new ConfigError(
      `chdir: cannot change to ${resolve(dir)} (from flag --chdir): ${(error as NodeJS.ErrnoException).code}`,
      {
        cause: error,
      },
    )
  }
}

/** `troupe tree`, `scale`, …: the commands that steer a running master through its control socket. */
const controlMain = async (command: ControlCommand, args: readonly string[]): Promise<number> => {
  let parsed: ControlParsed
  try {
    parsed = parseControlLine(command, args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    say(`${error.message} (see troupe ${command} --help)`)
    return 2
  }
  if (parsed.help) {
    process.stdout.write((await import('./help.ts')).controlHelp(command))
    return 0
  }
  try {
    const { runControlCommand } = await import('./commands/control-commands.ts')
    return await runControlCommand(parsed, {
      out: (text) => process.stdout.write(text),
      tty: process.stdout.isTTY === true,
    })
  } catch (error) {
    say(describe(error as Error))
    if (parsed.debug) process.stderr.write(`${(error as Error).stack}\n`)
    return 1
  }
}

const main = async (args: readonly string[]): Promise<number> => {
  const first = args.findIndex((arg) => !arg.startsWith('-'))
  if (first >= 0 && args[first]! in controlCommands)
    return controlMain(args[first] as ControlCommand, [...args.slice(0, first), ...args.slice(first + 1)])
  let parsed: Parsed
  try {
    parsed = parseCommandLine(args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    await startLogging({})
    say(`${error.message} (see troupe --help)`, 'usage', 'error')
    return 2
  }
  const command =
    parsed.command !== undefined && parsed.command in commands ? (parsed.command as Command) : undefined
  if (parsed.help) {
    const { commandHelp, usage } = await import('./help.ts')
    process.stdout.write(command ? commandHelp(command) : usage())
    return 0
  }
  if (parsed.version) {
    process.stdout.write(`${troupeVersion()}\n`)
    return 0
  }
  await startLogging(parsed.flags)
  try {
    if (command && parsed.chdir !== undefined) changeDirectory(parsed.chdir)
    if (command === 'serve') return await serve(parsed)
    if (command === 'check') return await check(parsed)
  } catch (error) {
    fail(error as Error)
    if (parsed.debug) process.stderr.write(`${(error as Error).stack}\n`)
    return 1
  }
  if (parsed.command === undefined) {
    process.stderr.write((await import('./help.ts')).usage())
    return 2
  }
  const hint = suggest(parsed.command, [...Object.keys(commands), ...Object.keys(controlCommands)])
  say(
    `unknown command "${parsed.command}"${hint ? ` (did you mean "${hint}"?)` : ''} (see troupe --help)`,
    'usage',
    'error',
  )
  return 2
}

// A reader that left (`troupe check | head`) ends a one-shot command quietly, as SIGPIPE ends a
// Unix tool; Node ignores SIGPIPE, so the write's EPIPE would otherwise crash with a stack. A
// server's stdout is only its access log, whose writers say so in a warning and serve on.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
  if (process.argv[2] !== 'serve') process.exit(process.exitCode ?? 0)
})

// exitCode rather than exit(): piped stdout gets to flush. Exit explicitly once serving ended,
// since stray handles of a stopped app must not keep the master alive.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  if (code === 0 && process.argv[2] === 'serve') setImmediate(() => process.exit(0))
})
