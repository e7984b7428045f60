#!/usr/bin/env node
/**
 * The `troupe` command: `serve` runs the master, `check` validates and prints the resolved
 * config. A mistake is one line on stderr naming the problem (and its code), no stack
 * trace unless --debug.
 */
import { dirname, resolve } from 'node:path'
import { parseAppRef } from '../../apps/app-ref.ts'
import { ConfigError } from '../errors.ts'
import { warningLine } from '../warnings.ts'
import { type Command, commands, type Parsed, parseCommandLine, UsageError } from './cli-args.ts'
import { type ControlCommand, type ControlParsed, controlCommands, parseControlLine } from './control-args.ts'
import { suggest } from './suggest.ts'
import { troupeVersion } from './version.ts'

// The environment as the master found it: what it sets for its workers (TROUPE_NAME) must not
// read as the user's on a reload.
const environment: Readonly<Record<string, string | undefined>> = { ...process.env }
// What only some commands need is imported when they run: `--version` and `--help` start fast.
const resolveAll = async (parsed: Parsed) => {
  const { resolveLayers } = await import('./config-file.ts')
  return resolveLayers(parsed, environment)
}

/** Log lines name the server when it has a name (`troupe shop: …`). */
let prefix = 'troupe'
const say = (line: string) => process.stderr.write(`${prefix}: ${line}\n`)
const warnAll = (warnings: readonly string[]) => {
  for (const line of warnings) say(line)
}

const check = async (parsed: Parsed): Promise<number> => {
  const resolved = await resolveAll(parsed)
  warnAll(resolved.warnings)
  if (resolved.note) say(resolved.note)
  const { checkCommand } = await import('./check.ts')
  await checkCommand(resolved, (line) => process.stdout.write(`${line}\n`))
  return 0
}

/** gunicorn's USR1 reopens log files and USR2 re-executes the binary; troupe has neither yet. */
const ignoredSignals = {
  SIGUSR1: 'troupe logs to stderr and has no log files to reopen',
  SIGUSR2: 'troupe has no binary re-exec; HUP reloads code and config with no dropped connection',
} as const

/** The master's name in ps, in its log lines, and (through the environment) in its process workers' titles. */
const applyName = (name: string | null) => {
  prefix = name ? `troupe ${name}` : 'troupe'
  process.title = name ? `troupe: master ${name}` : 'troupe: master'
  // Process workers inherit the environment; http-worker.ts titles them from it.
  if (name) process.env.TROUPE_NAME = name
  else delete process.env.TROUPE_NAME
}

const serve = async (parsed: Parsed): Promise<number> => {
  const resolved = await resolveAll(parsed)
  const { config, sources, note } = resolved
  warnAll(resolved.warnings)
  applyName(config.name)
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
  /** HUP and --reload: re-read the config file and the environment, start a new generation. */
  const reloadFromDisk = async (s: Server) => {
    try {
      const next = await resolveAll(parsed)
      warnAll(next.warnings)
      await s.reload(next.config)
      applyName(next.config.name)
    } catch (error) {
      throw new Error(`reload failed, the old workers keep serving: ${describe(error as Error)}`, {
        cause: error,
      })
    }
  }
  process.on('SIGTERM', () => stop(true))
  process.on('SIGINT', () => stop(true))
  process.on('SIGQUIT', () => stop(false))
  process.on(
    'SIGHUP',
    withServer(async (s) => {
      say('reloading')
      await reloadFromDisk(s)
    }),
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
  // Node's defaults would open the inspector (USR1) or end the master at once (USR2).
  for (const [signal, why] of Object.entries(ignoredSignals))
    process.on(signal, () => say(warningLine('TROUPE_W_SIGNAL_IGNORED', `${signal} ignored: ${why}`)))
  if (config.pid !== null) (await import('./pid-file.ts')).writePidFile(config.pid, sources.pid)
  const control = await import('./control/serve-control.ts')
  const claimed = await control.claimControl(config, environment, say)
  server = await startServer(config, { log: say })
  const controlServer = claimed
    ? await control.serveControl(claimed, server, {
        reload: () => reloadFromDisk(server!),
        stop,
        setLogLevel: (level) => level,
      })
    : undefined
  void finished.then(() => controlServer?.close())
  say(
    `serving ${config.app} on ${server.addresses.join(', ')} — ${config.workers} ${config.placement} worker(s), ` +
      `${config.kind}, ${config.strategy} (pid ${process.pid}${note ? `; ${note}` : ''})`,
  )
  if (config.reload) {
    const root = dirname(resolve(parseAppRef(config.app).module))
    const { reloadOnChange } = await import('./watch.ts')
    const watch = reloadOnChange(
      root,
      async () => {
        if (server && !stopping) await reloadFromDisk(server).catch((error: Error) => say(describe(error)))
      },
      say,
    )
    say(`--reload: watching ${root}`)
    void finished.then(() => watch.close())
  }
  if (stopRequested !== undefined) stop(stopRequested)
  return finished
}

const describe = (error: Error): string => {
  const code = (error as { code?: string }).code
  return code?.startsWith('TROUPE_E_') ? `${error.message} [${code}]` : error.message
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
    say(`${error.message} (see troupe --help)`)
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
  try {
    if (command && parsed.chdir !== undefined) changeDirectory(parsed.chdir)
    if (command === 'serve') return await serve(parsed)
    if (command === 'check') return await check(parsed)
  } catch (error) {
    say(describe(error as Error))
    if (parsed.debug) process.stderr.write(`${(error as Error).stack}\n`)
    return 1
  }
  if (parsed.command === undefined) {
    process.stderr.write((await import('./help.ts')).usage())
    return 2
  }
  const hint = suggest(parsed.command, [...Object.keys(commands), ...Object.keys(controlCommands)])
  say(`unknown command "${parsed.command}"${hint ? ` (did you mean "${hint}"?)` : ''} (see troupe --help)`)
  return 2
}

// exitCode rather than exit(): piped stdout gets to flush. Exit explicitly once serving ended,
// since stray handles of a stopped app must not keep the master alive.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  if (code === 0 && process.argv[2] === 'serve') setImmediate(() => process.exit(0))
})
