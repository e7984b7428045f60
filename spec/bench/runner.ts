/**
 * What every bench script shares: processes started and tracked (each tree killed when the
 * script ends, whichever way it ends short of SIGKILL), servers launched until their ready
 * line and stopped with their stragglers flagged, pinning checks, memory of a tree, wrk runs
 * read back, and the figures (medians, spreads, tables, the commands each section ran).
 * See spec/bench/README.md for how figures are taken.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { processTree, statOf } from './process-tree.ts'

export const root = fileURLToPath(new URL('../../', import.meta.url))
// The Node 26 that runs this script (npx node); shown relative to the project when it is inside it.
const rel = relative(root, process.execPath)
export const NODE = rel.startsWith('..') ? process.execPath : rel

// ---------------------------------------------------------------------------------------
// Processes: start, track, and kill on exit (with every descendant).

export { processTree }

const live = new Set<ChildProcess>()
/** Every process seen in a tree we started, with its start time (so a reused pid is left alone). */
const seen = new Map<number, string>()
export const remember = (pids: readonly number[]) => {
  for (const pid of pids) {
    const stat = statOf(pid)
    if (stat) seen.set(pid, stat.start)
  }
}
export const killPid = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(pid, signal)
  } catch {}
}
export const stillOurs = (pid: number) => {
  const start = seen.get(pid)
  return start !== undefined && statOf(pid)?.start === start
}
export const killEverything = () => {
  for (const child of live) {
    if (child.pid === undefined) continue
    const pids = processTree(child.pid)
    remember(pids)
    for (const pid of pids) killPid(pid, 'SIGKILL')
  }
  for (const pid of seen.keys()) if (stillOurs(pid)) killPid(pid, 'SIGKILL')
}
process.on('exit', killEverything)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    process.stderr.write(`\n${basename(process.argv[1] ?? 'bench')}: ${signal}, killing every child\n`)
    process.exit(130)
  })

export const start = (argv: readonly string[], cwd = root): ChildProcess => {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  if (child.pid !== undefined) remember([child.pid])
  child.on('exit', () => live.delete(child))
  child.on('error', () => live.delete(child))
  return child
}
export const exited = (child: ChildProcess, ms: number): Promise<boolean> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve(true)
        })
      })
/** Builds dist/ (tsup, JS only), what the package ships; the reason when it fails, else undefined. */
export const buildDist = (): string | undefined => {
  const result = spawnSync(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js')], {
    cwd: root,
    encoding: 'utf8',
  })
  return result.status === 0 ? undefined : `tsup failed: ${(result.stderr || result.stdout).slice(-300)}`
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const show = (argv: readonly string[]) =>
  argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ')

/** Anything that makes a figure unclean; printed at the end. */
export const flags: string[] = []
const commands = new Map<string, Set<string>>()
export const used = (section: string, argv: readonly string[]) => {
  const set = commands.get(section) ?? new Set<string>()
  set.add(show(argv).replace(/127\.0\.0\.1:\d+\//, '127.0.0.1:PORT/'))
  commands.set(section, set)
}

// ---------------------------------------------------------------------------------------
// Servers.

export interface Launched {
  readonly argv: readonly string[]
  readonly child: ChildProcess
  readonly pid: number
  readonly port: number
  /** From spawn() to the `serving` line. */
  readonly readyMs: number
  readonly log: () => string
}

/** The line a server prints once it serves on loopback TCP: troupe's, and the baselines'. */
export const servingOnLoopback = /serving .*?\bon (?:https:\/\/)?127\.0\.0\.1:(\d+)/

/**
 * Starts a server and resolves once its stderr has a line matching `ready` (by default
 * `… serving … on 127.0.0.1:PORT`); `port` is the pattern's first group, if it has one.
 */
export const launch = (
  argv: readonly string[],
  timeoutMs = 30_000,
  ready: RegExp = servingOnLoopback,
  cwd = root,
): Promise<Launched> => {
  const began = performance.now()
  const child = start(argv, cwd)
  let log = ''
  let partial = ''
  let done = false
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (child.pid !== undefined) for (const pid of processTree(child.pid)) killPid(pid, 'SIGKILL')
      reject(new Error(`${show(argv)}: ${why}\n${log.slice(-2_000)}`))
    }
    const timer = setTimeout(() => fail(`not serving after ${timeoutMs} ms`), timeoutMs)
    const keep = (chunk: Buffer) => {
      log += chunk
      if (log.length > 64_000) log = log.slice(-32_000)
    }
    child.stdout!.on('data', keep)
    child.stderr!.on('data', (chunk: Buffer) => {
      keep(chunk)
      if (done) return
      const lines = (partial + chunk).split('\n')
      partial = lines.pop()!
      for (const line of lines) {
        const match = ready.exec(line)
        if (!match) continue
        done = true
        clearTimeout(timer)
        resolve({
          argv,
          child,
          pid: child.pid!,
          port: match[1] === undefined ? Number.NaN : Number(match[1]),
          readyMs: performance.now() - began,
          log: () => log,
        })
        return
      }
    })
    child.on('error', (error) => fail(error.message))
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before serving`))
  })
}

/** SIGTERM, then SIGKILL for the whole tree if it takes over 10 s; flags stragglers and orphans. */
export const stop = async (server: Launched, label: string): Promise<void> => {
  const before = processTree(server.pid)
  remember(before)
  server.child.kill('SIGTERM')
  if (!(await exited(server.child, 10_000))) {
    flags.push(`${label}: did not stop within 10 s of SIGTERM; killed`)
    for (const pid of processTree(server.pid)) killPid(pid, 'SIGKILL')
    await exited(server.child, 5_000)
  }
  if (server.child.exitCode !== null && server.child.exitCode !== 0)
    flags.push(`${label}: exited ${server.child.exitCode} on SIGTERM\n${server.log().slice(-1_000)}`)
  let orphans = before.filter((pid) => pid !== server.pid && stillOurs(pid))
  for (let i = 0; i < 20 && orphans.length > 0; i++) {
    await sleep(100)
    orphans = orphans.filter(stillOurs)
  }
  if (orphans.length > 0) {
    flags.push(`${label}: ${orphans.length} process(es) outlived the master by 2 s: ${orphans.join(', ')}`)
    for (const pid of orphans) killPid(pid, 'SIGKILL')
  }
}

/** Threads (over the whole tree) not restricted to `cpus`. */
export const unpinned = (pid: number, cpus: string): string[] => {
  const bad: string[] = []
  const pids = processTree(pid)
  remember(pids)
  for (const p of pids) {
    let tasks: string[] = []
    try {
      tasks = readdirSync(`/proc/${p}/task`)
    } catch {}
    for (const tid of tasks) {
      try {
        const status = readFileSync(`/proc/${p}/task/${tid}/status`, 'utf8')
        const allowed = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]?.trim()
        if (allowed !== cpus) bad.push(`${p}/${tid}: ${allowed}`)
      } catch {}
    }
  }
  return bad
}

export interface Memory {
  readonly totalKb: number
  readonly masterKb: number
  readonly processes: number
  readonly threads: number
}
export const memoryOf = (pid: number): Memory => {
  const pids = processTree(pid)
  remember(pids)
  return memoryOfPids(pid, pids)
}

/**
 * Memory of `pids` (the tree of `pid`, found beforehand): a few reads of /proc, where finding
 * the tree reads every process's — milliseconds that a sampler beside a load generator in the
 * same loop must not spend at every sample.
 */
export const memoryOfPids = (pid: number, pids: readonly number[]): Memory => {
  let totalKb = 0
  let masterKb = 0
  let threads = 0
  for (const p of pids) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8')
      const kb = Number(/^VmRSS:\s*(\d+) kB/m.exec(status)?.[1] ?? 0)
      threads += Number(/^Threads:\s*(\d+)/m.exec(status)?.[1] ?? 0)
      totalKb += kb
      if (p === pid) masterKb = kb
    } catch {}
  }
  return { totalKb, masterKb, processes: pids.length, threads }
}

// ---------------------------------------------------------------------------------------
// wrk.

export interface WrkRun {
  readonly rps: number
  readonly requests: number
  readonly p50: number
  readonly p99: number
  readonly socketErrors: number
  readonly non2xx: number
  readonly output: string
}

const toMs = (value: string, unit: string) =>
  Number(value) * ({ us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit] ?? Number.NaN)

/** Runs a load tool (wrk, h2load) for about `seconds` and returns all it printed. */
export const loadOutput = async (argv: readonly string[], seconds: number): Promise<string> => {
  const child = start(argv)
  let output = ''
  child.stdout!.on('data', (c: Buffer) => {
    output += c
  })
  child.stderr!.on('data', (c: Buffer) => {
    output += c
  })
  if (!(await exited(child, (seconds + 30) * 1_000))) {
    child.kill('SIGKILL')
    throw new Error(`did not finish: ${show(argv)}\n${output}`)
  }
  return output
}

export const wrk = async (argv: readonly string[], seconds: number): Promise<WrkRun> => {
  const output = await loadOutput(argv, seconds)
  const latency = (pct: string) => {
    const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(output)
    return m ? toMs(m[1]!, m[2]!) : Number.NaN
  }
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const run: WrkRun = {
    rps: Number(/Requests\/sec:\s*([\d.]+)/.exec(output)?.[1] ?? Number.NaN),
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN),
    p50: latency('50'),
    p99: latency('99'),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    output,
  }
  if (!Number.isFinite(run.rps)) throw new Error(`could not read wrk's output: ${show(argv)}\n${output}`)
  return run
}
export const errorsOf = (run: WrkRun) => run.socketErrors + run.non2xx

// ---------------------------------------------------------------------------------------
// Figures.

export const median = (xs: readonly number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
export const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '—')
export const whole = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '—')
export const spread = (xs: readonly number[], digits: number) =>
  xs.length === 0 ? '—' : `${fixed(Math.min(...xs), digits)}–${fixed(Math.max(...xs), digits)}`

export const table = (title: string, rows: ReadonlyArray<Record<string, string>>) => {
  console.log(`\n${title}`)
  if (rows.length === 0) {
    console.log('(no rows)')
    return
  }
  const columns = Object.keys(rows[0]!)
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`
  console.log(line(columns))
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of rows) console.log(line(columns.map((c) => row[c] ?? '')))
}
export const printCommands = (section: string) => {
  console.log(`commands (${section}):`)
  for (const command of commands.get(section) ?? []) console.log(`  ${command}`)
}
export const progress = (line: string) => process.stderr.write(`  ${line}\n`)

/**
 * The options of a wrk scenario script: --duration S, --rounds N, --warmup S, --connections N
 * and --only SECTIONS (default `sections`), plus whole-number options of its own (`extra`, by
 * name with their defaults). --help prints them and exits; a value that is not a number >= 0
 * is refused.
 */
export const benchOptions = <K extends string = never>(
  script: string,
  sections: string,
  extra: Readonly<Record<K, number>> = {} as Record<K, number>,
) => {
  const numbers = { duration: 10, rounds: 3, warmup: 1, connections: 50, ...extra } as Record<string, number>
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(
        Object.entries(numbers).map(([name, n]) => [name, { type: 'string' as const, default: String(n) }]),
      ),
      only: { type: 'string', default: sections },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    const shown = Object.entries(numbers).map(
      ([name, n]) => `[--${name} ${name === 'duration' || name === 'warmup' ? 'S' : 'N'}=${n}]`,
    )
    console.log(`Usage: node spec/bench/${script} ${shown.join(' ')}\n         [--only ${sections}]`)
    process.exit(0)
  }
  const read = Object.fromEntries(
    Object.keys(numbers).map((name) => {
      const n = Number((values as Record<string, unknown>)[name])
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0`)
      return [name, n]
    }),
  ) as Record<'duration' | 'rounds' | 'warmup' | 'connections' | K, number>
  return {
    ...read,
    rounds: Math.max(1, read.rounds),
    sections: new Set(
      String(values.only)
        .split(',')
        .map((s) => s.trim()),
    ),
  }
}
