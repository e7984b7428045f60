/**
 * HTTP figures, each a ratio to a baseline measured in the same run (see spec/bench/README.md):
 *
 * 1. Hello-world req/s with one worker, per combination (placement thread|process × kind
 *    coroutine|thread-pool; `--threads 1` for kind thread-pool), as a ratio to a bare node:http
 *    server in one process (`bare-http.ts`). One fetch-style app (`hello-fetch.ts`) for all
 *    four, plus the Node-style `(req, res)` app (`hello-node.ts`, the bare server's very
 *    handler) under the two coroutine combinations; keep-alive, and `Connection: close`
 *    for the default combination. The server (all its threads and processes) is pinned to
 *    CPU 1, wrk to CPU 0; baseline and candidate alternate, A B A B, one fresh server per
 *    run, each warmed up before it is measured.
 * 2. RSS of the whole server (master + every descendant process) with 4 thread workers vs
 *    4 process workers after a warm-up load, against node:cluster with 4 workers
 *    (`cluster-hello.ts`). Not pinned.
 * 3. Spawn-to-ready: process start to the `serving` line with one worker (bare node:http as
 *    the floor), and in-process `troupe:actor:ready` spawnMs of worker spawns
 *    (`spawn-ready.ts`). Not pinned.
 *
 * 4. (tls) TLS in the worker: one worker serving https://, keep-alive and `Connection: close`
 *    (wrk resumes no session: every request is a full handshake), as a ratio to a bare
 *    node:https server (`bare-secure.ts`); pinned as in 1.
 * 5. (h2) HTTP/2: h2load against one worker serving h2 (ALPN over TLS) and h2c, as a ratio
 *    to a bare node:http2 server with the same handler; pinned as in 1, h2load on CPU 0.
 *
 * Run: `npm run bench:http -- [--duration S] [--rounds N] [--warmup S] [--connections N]
 *   [--spawns N] [--only rps,access-log,rss,startup,spawn,tls,h2]`.
 * 1b. (access-log) the access log's cost: the same one-worker server with and without
 *    `--access-log FILE`, alternating, pinned as in 1.
 * Every child this script starts (servers, their workers, wrk) is killed when it ends,
 * whichever way it ends short of SIGKILL.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  benchOptions,
  errorsOf,
  exited,
  fixed,
  flags,
  killEverything,
  killPid,
  type Launched,
  launch,
  loadOutput,
  type Memory,
  median,
  memoryOf,
  NODE,
  printCommands,
  processTree,
  progress,
  remember,
  show,
  sleep,
  spread,
  start,
  stillOurs,
  stop,
  table,
  unpinned,
  used,
  type WrkRun,
  whole,
  wrk,
} from './runner.ts'

const { duration, rounds, warmup, connections, spawns, sections } = benchOptions(
  'http.ts',
  'rps,access-log,rss,startup,spawn,tls,h2',
  { spawns: 20 },
)

const wrkArgv = (
  port: number,
  seconds: number,
  options: { pin: boolean; close: boolean; scheme?: 'http' | 'https' },
): string[] => [
  ...(options.pin ? ['taskset', '-c', '0'] : []),
  'wrk',
  '-t1',
  `-c${connections}`,
  `-d${seconds}s`,
  '--latency',
  ...(options.close ? ['-H', 'Connection: close'] : []),
  `${options.scheme ?? 'http'}://127.0.0.1:${port}/`,
]

type Placement = 'thread' | 'process'
type Kind = 'coroutine' | 'thread-pool'
type App = 'hello-fetch' | 'hello-node'

const troupeArgv = (app: App, workers: number, placement: Placement, kind: Kind): string[] => [
  NODE,
  'runtime/master/cli.ts',
  'serve',
  `spec/bench/${app}.ts`,
  '--bind',
  '127.0.0.1:0',
  '--workers',
  String(workers),
  '--placement',
  placement,
  '--kind',
  kind,
  // A queue deep enough for wrk's 50 connections: this measures throughput, not shedding.
  ...(kind === 'thread-pool' ? ['--threads', '1', '--thread-queue', '100'] : []),
]
const bareArgv = [NODE, 'spec/bench/bare-http.ts', '--bind', '127.0.0.1:0']
const clusterArgv = (workers: number) => [
  NODE,
  'spec/bench/cluster-hello.ts',
  '--workers',
  String(workers),
  '--bind',
  '127.0.0.1:0',
]
const pin = (argv: readonly string[]) => ['taskset', '-c', '1', ...argv]

// 1 ------------------------------------------------------------------------------------

interface Candidate {
  readonly placement: Placement
  readonly kind: Kind
  readonly app: App
  readonly close: boolean
}
const candidates: Candidate[] = [
  { placement: 'thread', kind: 'coroutine', app: 'hello-fetch', close: false },
  { placement: 'thread', kind: 'thread-pool', app: 'hello-fetch', close: false },
  { placement: 'process', kind: 'coroutine', app: 'hello-fetch', close: false },
  { placement: 'process', kind: 'thread-pool', app: 'hello-fetch', close: false },
  { placement: 'thread', kind: 'coroutine', app: 'hello-node', close: false },
  { placement: 'process', kind: 'coroutine', app: 'hello-node', close: false },
  { placement: 'thread', kind: 'coroutine', app: 'hello-fetch', close: true },
]
const describeCandidate = (c: Candidate) =>
  `${c.placement}/${c.kind} ${c.app === 'hello-fetch' ? 'fetch' : 'node'} ${c.close ? 'close' : 'keep-alive'}`

/** One pinned run: fresh server on CPU 1, warm-up, measured wrk on CPU 0, stop. */
const pinnedRun = async (
  argv: readonly string[],
  close: boolean,
  label: string,
): Promise<WrkRun | undefined> => {
  used('rps', pin(argv))
  let server: Launched | undefined
  try {
    server = await launch(pin(argv))
    if (warmup > 0) {
      const warm = await wrk(wrkArgv(server.port, warmup, { pin: true, close }), warmup)
      if (errorsOf(warm) > 0)
        flags.push(`${label}: warm-up had ${warm.socketErrors} socket errors, ${warm.non2xx} non-2xx`)
    }
    const bad = unpinned(server.pid, '1')
    if (bad.length > 0)
      flags.push(`${label}: ${bad.length} server thread(s) not pinned to CPU 1: ${bad.join('; ')}`)
    const argvWrk = wrkArgv(server.port, duration, { pin: true, close })
    used('rps', argvWrk)
    const run = await wrk(argvWrk, duration)
    if (errorsOf(run) > 0)
      flags.push(`${label}: ${run.socketErrors} socket errors, ${run.non2xx} non-2xx (of ${run.requests})`)
    return run
  } catch (error) {
    flags.push(`${label}: run failed: ${(error as Error).message}`)
    return undefined
  } finally {
    if (server) await stop(server, label)
  }
}

const requestRates = async () => {
  const runs = candidates.map(() => ({ base: [] as WrkRun[], cand: [] as WrkRun[], ratios: [] as number[] }))
  const total = rounds * candidates.length
  let n = 0
  for (let round = 1; round <= rounds; round++) {
    for (const [i, candidate] of candidates.entries()) {
      const name = describeCandidate(candidate)
      const base = await pinnedRun(bareArgv, candidate.close, `rps round ${round} bare (vs ${name})`)
      const cand = await pinnedRun(
        troupeArgv(candidate.app, 1, candidate.placement, candidate.kind),
        candidate.close,
        `rps round ${round} troupe ${name}`,
      )
      const slot = runs[i]!
      if (base) slot.base.push(base)
      if (cand) slot.cand.push(cand)
      if (base && cand) slot.ratios.push(cand.rps / base.rps)
      progress(
        `[rps ${++n}/${total}] ${name}: troupe ${whole(cand?.rps ?? Number.NaN)} req/s, ` +
          `bare ${whole(base?.rps ?? Number.NaN)} req/s, ratio ${fixed((cand?.rps ?? Number.NaN) / (base?.rps ?? Number.NaN), 3)}`,
      )
    }
  }
  const errs = (list: readonly WrkRun[]) =>
    `${list.reduce((a, r) => a + r.socketErrors, 0)}/${list.reduce((a, r) => a + r.non2xx, 0)}`
  table(
    `1. hello world, 1 worker, req/s as a ratio to bare node:http in one process ` +
      `(server on CPU 1, wrk -t1 -c${connections} on CPU 0, ${duration}s runs after ${warmup}s warm-up, ` +
      `A B alternating, ${rounds} round(s))`,
    candidates.map((c, i) => {
      const { base, cand, ratios } = runs[i]!
      const dirty = [...base, ...cand].some((r) => errorsOf(r) > 0)
      const incomplete = ratios.length < rounds
      return {
        'placement/kind': `${c.placement}/${c.kind}`,
        app: c.app === 'hello-fetch' ? 'fetch' : 'node (req,res)',
        conn: c.close ? 'close' : 'keep-alive',
        'ratio (median)': fixed(median(ratios), 3),
        'min–max': spread(ratios, 3),
        'troupe req/s': whole(median(cand.map((r) => r.rps))),
        'bare req/s': whole(median(base.map((r) => r.rps))),
        'p50 ms troupe/bare': `${fixed(median(cand.map((r) => r.p50)), 2)}/${fixed(median(base.map((r) => r.p50)), 2)}`,
        'p99 ms troupe/bare': `${fixed(median(cand.map((r) => r.p99)), 2)}/${fixed(median(base.map((r) => r.p99)), 2)}`,
        'errors troupe/bare (sock/non-2xx)': `${errs(cand)} | ${errs(base)}`,
        flag: [dirty ? 'ERRORS' : '', incomplete ? `only ${ratios.length}/${rounds} pairs` : '']
          .filter(Boolean)
          .join(', '),
      }
    }),
  )
  console.log('medians over rounds; ratio = troupe req/s ÷ bare req/s of the run just before it')
  printCommands('rps')
}

// 1b -----------------------------------------------------------------------------------

/**
 * What the access log costs: the same server with and without `--access-log FILE`,
 * alternating, each pair's ratio. The issue's bound is a cost of at most 5%.
 */
const accessLogCost = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-access-'))
  const combos = [
    { placement: 'thread' as Placement, app: 'hello-fetch' as App },
    { placement: 'process' as Placement, app: 'hello-node' as App },
  ]
  const results = combos.map(() => ({ off: [] as WrkRun[], on: [] as WrkRun[], ratios: [] as number[] }))
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [i, combo] of combos.entries()) {
        const argv = troupeArgv(combo.app, 1, combo.placement, 'coroutine')
        const name = `${combo.placement} ${combo.app}`
        const off = await pinnedRun(argv, false, `access-log round ${round} ${name} off`)
        const file = join(dir, `access-${round}-${i}.log`)
        const on = await pinnedRun(
          [...argv, '--access-log', file],
          false,
          `access-log round ${round} ${name} on`,
        )
        const slot = results[i]!
        if (off) slot.off.push(off)
        if (on) slot.on.push(on)
        if (off && on) slot.ratios.push(on.rps / off.rps)
        rmSync(file, { force: true })
        progress(
          `[access-log ${round}/${rounds}] ${name}: on ${whole(on?.rps ?? Number.NaN)} req/s, off ${whole(off?.rps ?? Number.NaN)} req/s`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  table(
    `1b. the access log's cost: 1 worker, coroutine, req/s with --access-log FILE (common format) ÷ without, pinned as in 1`,
    combos.map((c, i) => {
      const { off, on, ratios } = results[i]!
      return {
        'placement app': `${c.placement} ${c.app}`,
        'ratio on/off (median)': fixed(median(ratios), 3),
        'min–max': spread(ratios, 3),
        'on req/s': whole(median(on.map((r) => r.rps))),
        'off req/s': whole(median(off.map((r) => r.rps))),
      }
    }),
  )
  printCommands('rps')
}

// 2 ------------------------------------------------------------------------------------

const rssWorkers = 4
const rssLoad = Math.max(1, Math.min(3, duration))
interface RssConfig {
  readonly name: string
  readonly argv: string[]
}
const rssConfigs: RssConfig[] = [
  {
    name: `troupe thread ×${rssWorkers}, fetch app`,
    argv: troupeArgv('hello-fetch', rssWorkers, 'thread', 'coroutine'),
  },
  {
    name: `troupe process ×${rssWorkers}, fetch app`,
    argv: troupeArgv('hello-fetch', rssWorkers, 'process', 'coroutine'),
  },
  {
    name: `troupe thread ×${rssWorkers}, node app`,
    argv: troupeArgv('hello-node', rssWorkers, 'thread', 'coroutine'),
  },
  {
    name: `troupe process ×${rssWorkers}, node app`,
    argv: troupeArgv('hello-node', rssWorkers, 'process', 'coroutine'),
  },
  { name: `node:cluster ×${rssWorkers} (baseline)`, argv: clusterArgv(rssWorkers) },
]

const residentMemory = async () => {
  const results = rssConfigs.map(() => [] as Array<Memory & { rps: number; errors: number }>)
  for (let round = 1; round <= rounds; round++) {
    for (const [i, config] of rssConfigs.entries()) {
      const label = `rss round ${round} ${config.name}`
      used('rss', config.argv)
      let server: Launched | undefined
      try {
        server = await launch(config.argv)
        const argvWrk = wrkArgv(server.port, rssLoad, { pin: false, close: false })
        used('rss', argvWrk)
        const load = await wrk(argvWrk, rssLoad)
        if (errorsOf(load) > 0)
          flags.push(`${label}: warm-up load had ${load.socketErrors} socket errors, ${load.non2xx} non-2xx`)
        await sleep(1_000)
        const memory = memoryOf(server.pid)
        results[i]!.push({ ...memory, rps: load.rps, errors: errorsOf(load) })
        progress(`[rss ${round}/${rounds}] ${config.name}: ${fixed(memory.totalKb / 1024, 1)} MB`)
      } catch (error) {
        flags.push(`${label}: run failed: ${(error as Error).message}`)
      } finally {
        if (server) await stop(server, label)
      }
    }
  }
  const baseline = median(results.at(-1)!.map((m) => m.totalKb))
  table(
    `2. resident memory of the whole server tree (sum of VmRSS, master + descendants), ` +
      `${rssWorkers} workers, after ${rssLoad}s of wrk -t1 -c${connections} and 1s idle (not pinned, ${rounds} round(s))`,
    rssConfigs.map((config, i) => {
      const list = results[i]!
      const total = list.map((m) => m.totalKb / 1024)
      return {
        server: config.name,
        'RSS MB (median)': fixed(median(total), 1),
        'min–max': spread(total, 1),
        'vs cluster': fixed(median(list.map((m) => m.totalKb)) / baseline, 2),
        'master MB': fixed(median(list.map((m) => m.masterKb / 1024)), 1),
        'descendants MB': fixed(median(list.map((m) => (m.totalKb - m.masterKb) / 1024)), 1),
        processes: fixed(median(list.map((m) => m.processes)), 0),
        threads: fixed(median(list.map((m) => m.threads)), 0),
        'load req/s': whole(median(list.map((m) => m.rps))),
        flag: list.some((m) => m.errors > 0) ? 'ERRORS in load' : list.length < rounds ? 'incomplete' : '',
      }
    }),
  )
  printCommands('rss')
}

// 3 ------------------------------------------------------------------------------------

const startupConfigs: RssConfig[] = [
  { name: 'bare node:http (floor)', argv: bareArgv },
  { name: 'troupe thread ×1', argv: troupeArgv('hello-fetch', 1, 'thread', 'coroutine') },
  { name: 'troupe process ×1', argv: troupeArgv('hello-fetch', 1, 'process', 'coroutine') },
]
const startupSamples = Math.max(5, rounds)

const startupTimes = async () => {
  const results = startupConfigs.map(() => [] as number[])
  for (let round = 1; round <= startupSamples; round++) {
    for (const [i, config] of startupConfigs.entries()) {
      const label = `startup round ${round} ${config.name}`
      used('startup', config.argv)
      try {
        const server = await launch(config.argv)
        results[i]!.push(server.readyMs)
        await stop(server, label)
      } catch (error) {
        flags.push(`${label}: run failed: ${(error as Error).message}`)
      }
    }
    progress(
      `[startup ${round}/${startupSamples}] ${results.map((r) => fixed(r.at(-1) ?? Number.NaN, 0)).join(' / ')} ms`,
    )
  }
  const floor = median(results[0]!)
  table(
    `3a. process start to the 'serving' line, 1 worker, fetch app, coroutine (not pinned, ${startupSamples} alternating samples)`,
    startupConfigs.map((config, i) => ({
      server: config.name,
      'ms (median)': fixed(median(results[i]!), 1),
      'min–max': spread(results[i]!, 1),
      'over bare (median)': i === 0 ? '' : fixed(median(results[i]!) - floor, 1),
      samples: String(results[i]!.length),
    })),
  )
  printCommands('startup')
}

interface SpawnResult {
  readonly placement: string
  readonly kind: string
  readonly first: number
  readonly spawnMs: number[]
  readonly scaleMs: number[]
}

const spawnTimes = async () => {
  const combos: Array<[Placement, Kind]> = [
    ['thread', 'coroutine'],
    ['process', 'coroutine'],
    ['thread', 'thread-pool'],
    ['process', 'thread-pool'],
  ]
  const rows: Array<Record<string, string>> = []
  for (const [placement, kind] of combos) {
    const argv = [
      NODE,
      'spec/bench/spawn-ready.ts',
      '--placement',
      placement,
      '--kind',
      kind,
      '--spawns',
      String(spawns),
    ]
    used('spawn', argv)
    const child = start(argv)
    let out = ''
    let err = ''
    child.stdout!.on('data', (c: Buffer) => {
      out += c
    })
    child.stderr!.on('data', (c: Buffer) => {
      err += c
    })
    // Worker processes come and go: remember each, to catch one that outlives the script.
    const tree = new Set<number>()
    const watch = setInterval(() => {
      if (child.pid === undefined) return
      const pids = processTree(child.pid)
      remember(pids)
      for (const pid of pids) tree.add(pid)
    }, 50)
    const finished = await exited(child, 120_000)
    if (!finished && child.pid !== undefined)
      for (const pid of processTree(child.pid)) killPid(pid, 'SIGKILL')
    let result: SpawnResult | undefined
    try {
      result = JSON.parse(out.trim().split('\n').at(-1) ?? '') as SpawnResult
    } catch {
      flags.push(
        `spawn ${placement}/${kind}: ${finished ? `exited ${child.exitCode}` : 'timed out'}: ${err.slice(-1_500)}`,
      )
    }
    clearInterval(watch)
    let orphans = [...tree].filter((pid) => pid !== child.pid && stillOurs(pid))
    for (let i = 0; i < 20 && orphans.length > 0; i++) {
      await sleep(100)
      orphans = orphans.filter(stillOurs)
    }
    if (orphans.length > 0) {
      flags.push(
        `spawn ${placement}/${kind}: ${orphans.length} worker process(es) outlived the script: ${orphans}`,
      )
      for (const pid of orphans) killPid(pid, 'SIGKILL')
    }
    progress(`[spawn] ${placement}/${kind}: median ${fixed(median(result?.spawnMs ?? []), 1)} ms`)
    rows.push({
      'placement/kind': `${placement}/${kind}`,
      'spawnMs (median)': fixed(median(result?.spawnMs ?? []), 1),
      'min–max': spread(result?.spawnMs ?? [], 1),
      spawns: String(result?.spawnMs.length ?? 0),
      'first worker (at start)': fixed(result?.first ?? Number.NaN, 1),
      'scale() step ms (median)': fixed(median(result?.scaleMs ?? []), 1),
    })
  }
  table(
    `3b. worker spawn-to-ready, in-process (troupe:actor:ready spawnMs of /troupe/workers/wN; ` +
      `scale() up from 1 in steps, back to 1 between batches; fetch app; not pinned)`,
    rows,
  )
  printCommands('spawn')
}

// 4 and 5 ------------------------------------------------------------------------------

/** A test CA and a server certificate for 127.0.0.1, made with openssl for this run. */
let certFiles: { dir: string; cert: string; key: string } | undefined
const certs = async () => {
  if (!certFiles) {
    const { makeCerts } = await import('../support/tls-certs.ts')
    const made = makeCerts()
    certFiles = { dir: made.dir, cert: made.cert, key: made.key }
    process.on('exit', () => rmSync(made.dir, { recursive: true, force: true }))
  }
  return certFiles
}

interface LoadRun {
  readonly rps: number
  readonly errors: number
  readonly output: string
}

const fromWrk = (run: WrkRun): LoadRun => ({ rps: run.rps, errors: errorsOf(run), output: run.output })

/** h2load on CPU 0 for `seconds`: 1 thread, 10 connections, 10 streams each. */
const h2loadArgv = (url: string, seconds: number): string[] => [
  'taskset',
  '-c',
  '0',
  'h2load',
  '-t1',
  '-c10',
  '-m10',
  `-D${seconds}`,
  url,
]

const h2load = async (argv: readonly string[], seconds: number): Promise<LoadRun> => {
  const output = await loadOutput(argv, seconds)
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(output)?.[1] ?? Number.NaN)
  const failed = /(\d+) failed, (\d+) errored/.exec(output)
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output)
  if (!Number.isFinite(rps)) throw new Error(`could not read h2load's output: ${show(argv)}\n${output}`)
  const errors =
    (failed ? Number(failed[1]) + Number(failed[2]) : 0) + (codes ? Number(codes[3]) + Number(codes[4]) : 0)
  return { rps, errors, output }
}

/** One pinned run of any load: fresh server on CPU 1, warm-up, measured load on CPU 0, stop. */
const pinnedLoad = async (
  section: string,
  argv: readonly string[],
  label: string,
  load: (port: number, seconds: number) => { argv: string[]; run: (argv: string[]) => Promise<LoadRun> },
): Promise<LoadRun | undefined> => {
  used(section, pin(argv))
  let server: Launched | undefined
  try {
    server = await launch(pin(argv))
    if (warmup > 0) {
      const warm = load(server.port, warmup)
      const run = await warm.run(warm.argv)
      if (run.errors > 0) flags.push(`${label}: warm-up had ${run.errors} errors`)
    }
    const bad = unpinned(server.pid, '1')
    if (bad.length > 0)
      flags.push(`${label}: ${bad.length} server thread(s) not pinned to CPU 1: ${bad.join('; ')}`)
    const measured = load(server.port, duration)
    used(section, measured.argv)
    const run = await measured.run(measured.argv)
    if (run.errors > 0) flags.push(`${label}: ${run.errors} errors`)
    return run
  } catch (error) {
    flags.push(`${label}: run failed: ${(error as Error).message}`)
    return undefined
  } finally {
    if (server) await stop(server, label)
  }
}

interface SecureCandidate {
  readonly name: string
  readonly base: readonly string[]
  readonly troupe: readonly string[]
  readonly load: (
    port: number,
    seconds: number,
  ) => { argv: string[]; run: (argv: string[]) => Promise<LoadRun> }
}

/** Pairs of pinned runs, bare then troupe, per candidate and round: the median ratio of each. */
const securePairs = async (section: string, title: string, list: readonly SecureCandidate[]) => {
  const runs = list.map(() => ({ base: [] as LoadRun[], cand: [] as LoadRun[], ratios: [] as number[] }))
  let n = 0
  for (let round = 1; round <= rounds; round++) {
    for (const [i, c] of list.entries()) {
      const base = await pinnedLoad(section, c.base, `${section} round ${round} bare (vs ${c.name})`, c.load)
      const cand = await pinnedLoad(section, c.troupe, `${section} round ${round} troupe ${c.name}`, c.load)
      const slot = runs[i]!
      if (base) slot.base.push(base)
      if (cand) slot.cand.push(cand)
      if (base && cand) slot.ratios.push(cand.rps / base.rps)
      progress(
        `[${section} ${++n}/${rounds * list.length}] ${c.name}: troupe ${whole(cand?.rps ?? Number.NaN)} req/s, ` +
          `bare ${whole(base?.rps ?? Number.NaN)} req/s`,
      )
    }
  }
  table(
    title,
    list.map((c, i) => {
      const { base, cand, ratios } = runs[i]!
      return {
        candidate: c.name,
        'ratio (median)': fixed(median(ratios), 3),
        'min–max': spread(ratios, 3),
        'troupe req/s': whole(median(cand.map((r) => r.rps))),
        'bare req/s': whole(median(base.map((r) => r.rps))),
        flag: [
          [...base, ...cand].some((r) => r.errors > 0) ? 'ERRORS' : '',
          ratios.length < rounds ? `only ${ratios.length}/${rounds} pairs` : '',
        ]
          .filter(Boolean)
          .join(', '),
      }
    }),
  )
  console.log('medians over rounds; ratio = troupe req/s ÷ bare req/s of the run just before it')
  printCommands(section)
}

const secureTroupe = (
  placement: Placement,
  bind: string,
  files: { cert: string; key: string },
  extra: string[] = [],
) => [
  NODE,
  'runtime/master/cli.ts',
  'serve',
  'spec/bench/hello-node.ts',
  '--bind',
  bind,
  '--certfile',
  files.cert,
  '--keyfile',
  files.key,
  '--workers',
  '1',
  '--placement',
  placement,
  ...extra,
]
const bareSecure = (protocol: 'https' | 'h2' | 'h2c', files: { cert: string; key: string }) => [
  NODE,
  'spec/bench/bare-secure.ts',
  '--protocol',
  protocol,
  '--cert',
  files.cert,
  '--key',
  files.key,
]

const tlsCost = async () => {
  const files = await certs()
  const viaWrk = (close: boolean) => (port: number, seconds: number) => ({
    argv: wrkArgv(port, seconds, { pin: true, close, scheme: 'https' }),
    run: async (argv: string[]) => fromWrk(await wrk(argv, seconds)),
  })
  const list: SecureCandidate[] = (['thread', 'process'] as const).flatMap((placement) =>
    [false, true].map((close) => ({
      name: `${placement} ${close ? 'Connection: close (a full handshake each)' : 'keep-alive'}`,
      base: bareSecure('https', files),
      troupe: secureTroupe(placement, 'https://127.0.0.1:0', files),
      load: viaWrk(close),
    })),
  )
  await securePairs(
    'tls',
    `4. TLS in the worker: https hello, 1 worker, req/s as a ratio to a bare node:https server ` +
      `(RSA-2048; server on CPU 1, wrk -t1 -c${connections} on CPU 0, ${duration}s runs, ${rounds} round(s))`,
    list,
  )
}

const http2Cost = async () => {
  if (spawnSync('h2load', ['--version']).status !== 0) {
    flags.push('h2: h2load is not installed (Debian package nghttp2-client): section skipped')
    return
  }
  const files = await certs()
  const viaH2load = (scheme: 'https' | 'http') => (port: number, seconds: number) => ({
    argv: h2loadArgv(`${scheme}://127.0.0.1:${port}/`, seconds),
    run: (argv: string[]) => h2load(argv, seconds),
  })
  const list: SecureCandidate[] = [
    ...(['thread', 'process'] as const).map((placement) => ({
      name: `${placement} h2 (TLS, ALPN)`,
      base: bareSecure('h2', files),
      troupe: secureTroupe(placement, 'https://127.0.0.1:0', files),
      load: viaH2load('https'),
    })),
    {
      name: 'thread h2c (prior knowledge)',
      base: bareSecure('h2c', files),
      troupe: secureTroupe('thread', '127.0.0.1:0', files, ['--http2-cleartext', 'prior-knowledge']),
      load: viaH2load('http'),
    },
  ]
  await securePairs(
    'h2',
    `5. HTTP/2: hello, 1 worker, req/s as a ratio to a bare node:http2 server with the same handler ` +
      `(server on CPU 1, h2load -t1 -c10 -m10 on CPU 0, ${duration}s runs, ${rounds} round(s))`,
    list,
  )
}

// ---------------------------------------------------------------------------------------

const wrkVersion = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
const estimate =
  (sections.has('rps') ? rounds * candidates.length * 2 * (warmup + duration + 1.5) : 0) +
  (sections.has('access-log') ? rounds * 4 * (warmup + duration + 1.5) : 0) +
  (sections.has('rss') ? rounds * rssConfigs.length * (rssLoad + 3) : 0) +
  (sections.has('startup') ? startupSamples * startupConfigs.length * 1.5 : 0) +
  (sections.has('spawn') ? 4 * (3 + spawns * 0.3) : 0) +
  (sections.has('tls') ? rounds * 4 * 2 * (warmup + duration + 1.5) : 0) +
  (sections.has('h2') ? rounds * 3 * 2 * (warmup + duration + 1.5) : 0)
console.log(
  `troupe http bench — node ${process.version} (${NODE}), ${(wrkVersion.stdout || wrkVersion.stderr).split('\n')[0]?.split(' Copyright')[0]}, ` +
    `${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
)
console.log(
  `duration ${duration}s, warm-up ${warmup}s, rounds ${rounds}, connections ${connections}, spawns ${spawns}; ` +
    `sections ${[...sections].join(',')}; about ${Math.ceil(estimate / 60)} min`,
)

try {
  if (sections.has('rps')) await requestRates()
  if (sections.has('access-log')) await accessLogCost()
  if (sections.has('rss')) await residentMemory()
  if (sections.has('startup')) await startupTimes()
  if (sections.has('spawn')) await spawnTimes()
  if (sections.has('tls')) await tlsCost()
  if (sections.has('h2')) await http2Cost()
} catch (error) {
  flags.push(`bench aborted: ${(error as Error).stack}`)
  process.exitCode = 1
}
console.log(
  `\nload average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
if (flags.length > 0) {
  console.log(`\nFLAGS (${flags.length}) — figures these touch are not clean:`)
  for (const flag of flags) console.log(`- ${flag}`)
} else console.log('\nno errors, no stragglers, every pinned thread on CPU 1')
killEverything()
process.exit()
