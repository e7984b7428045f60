/**
 * Behind nginx: req/s of a hello app through one nginx worker (`wrk -t1 -cN` against nginx),
 * with two backend workers on a Unix socket, each figure a ratio to a baseline measured in the
 * same round (see spec/bench/README.md):
 *
 * 1. (http) `proxy_pass` with upstream keep-alive — the README's "Behind nginx" config as
 *    written — to node:cluster with 2 workers (`cluster-hello.ts`, the baseline), troupe
 *    `--placement thread` and troupe `--placement process` (`hello-node.ts`, the cluster's very
 *    handler).
 * 2. (uwsgi) `uwsgi_pass` to uWSGI (`--plugin python3 --processes 2`, the hello WSGI app
 *    `hello_wsgi.py`; the baseline), to troupe `--uwsgi unix:…` (where this troupe has the flag),
 *    troupe over HTTP on the same socket shape (`proxy_pass` as in 1), and the floor: node:cluster
 *    answering raw uwsgi packets without any HTTP machinery (`cluster-uwsgi.ts`), the most a Node
 *    backend can do per connection here.
 *
 * Every run starts a fresh backend and a fresh nginx, warms up, measures, and stops both;
 * candidates alternate within a round, baseline first. Not pinned: nginx, two workers and wrk
 * share the machine's cores, as they would in production.
 *
 * Run: `npm run bench:nginx -- [--duration S] [--rounds N] [--warmup S] [--connections N]
 *   [--only http,uwsgi]`. Needs nginx (Debian `nginx-light`), wrk, and for 2 uwsgi with its
 *   python3 plugin (Debian `uwsgi`, `uwsgi-plugin-python3`).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { nginxPath } from '../support/nginx-config.ts'
import { markedBlock, readReadme } from '../support/readme.ts'
import { launchNginx } from './nginx-launch.ts'
import {
  benchOptions,
  errorsOf,
  fixed,
  flags,
  killEverything,
  type Launched,
  launch,
  median,
  NODE,
  printCommands,
  progress,
  show,
  spread,
  stop,
  table,
  used,
  type WrkRun,
  whole,
  wrk,
} from './runner.ts'

const { duration, rounds, warmup, connections, sections } = benchOptions('nginx.ts', 'http,uwsgi')

const NGINX = nginxPath()

// ---------------------------------------------------------------------------------------
// nginx in front.

/**
 * The README's `mark` block, listening on `port` and passing to `socket` (the rewrite
 * spec/nginx.test.ts makes of it too).
 */
const readmeSite =
  (mark: string, address: string) =>
  (socket: string, port: number): string => {
    const readme = markedBlock(readReadme(), mark)
    if (!readme.includes('listen 80;') || !readme.includes(address))
      throw new Error(`the README ${mark} block no longer listens on 80 for ${address}`)
    return readme.replace('listen 80;', `listen 127.0.0.1:${port};`).replaceAll(address, `unix:${socket}`)
  }

/** proxy_pass with upstream keep-alive: the README's "Behind nginx" config. */
const proxySite = readmeSite('nginx-proxy-site', 'unix:/run/troupe/app.sock')
/** uwsgi_pass: nginx opens a connection per request (its uwsgi module keeps none). */
const uwsgiSite = readmeSite('nginx-uwsgi-site', 'unix:/run/troupe/app-uwsgi.sock')

type Site = (socket: string, port: number) => string

/** `argv` as the commands list shows it: each run's temp directory is DIR. */
const inDir = (argv: readonly string[], dir: string) => argv.map((arg) => arg.replaceAll(dir, 'DIR'))

/** nginx with one worker in front of `socket`. */
const startNginx = (dir: string, site: Site, socket: string, section: string): Promise<Launched> =>
  launchNginx(
    dir,
    (port) => ({ site: site(socket, port) }),
    (argv) => used(section, inDir(argv, dir)),
  )

// ---------------------------------------------------------------------------------------
// Backends: each serves the hello app with 2 workers on the Unix socket `socket`.

interface Backend {
  readonly name: string
  readonly site: Site
  readonly ready: RegExp
  readonly argv: (socket: string, dir: string) => string[]
}

const troupeServing = /serving .*? on unix:/
const troupe = (placement: 'thread' | 'process', bind: 'bind' | 'uwsgi') => (socket: string) => [
  NODE,
  'runtime/master/cli.ts',
  'serve',
  'spec/bench/hello-node.ts',
  `--${bind}`,
  `unix:${socket}`,
  // A uwsgi listener alone would come with the default HTTP bind, a fixed TCP port.
  ...(bind === 'uwsgi' ? ['--bind', `unix:${socket}.http`] : []),
  '--workers',
  '2',
  '--placement',
  placement,
  '--control',
  'none',
]

const cluster: Backend = {
  name: 'node:cluster, 2 workers',
  site: proxySite,
  ready: /cluster: serving on unix:/,
  argv: (socket) => [NODE, 'spec/bench/cluster-hello.ts', '--workers', '2', '--bind', `unix:${socket}`],
}
const troupeThread: Backend = {
  name: 'troupe --placement thread (HTTP)',
  site: proxySite,
  ready: troupeServing,
  argv: troupe('thread', 'bind'),
}
const troupeProcess: Backend = {
  name: 'troupe --placement process (HTTP)',
  site: proxySite,
  ready: troupeServing,
  argv: troupe('process', 'bind'),
}

const uwsgiServer: Backend = {
  name: 'uWSGI --processes 2 (python3)',
  site: uwsgiSite,
  ready: /spawned uWSGI worker 2 /,
  argv: (socket) => [
    'uwsgi',
    '--plugin',
    'python3',
    '--uwsgi-socket',
    socket,
    '--processes',
    '2',
    '--wsgi-file',
    'spec/bench/hello_wsgi.py',
    '--master',
    '--need-app',
    '--die-on-term',
    '--disable-logging',
  ],
}
/** The least a Node uwsgi backend can do per connection (cluster-uwsgi.ts): the floor troupe is read against. */
const uwsgiFloor: Backend = {
  name: 'floor: node:cluster answering raw uwsgi (SCHED_NONE)',
  site: uwsgiSite,
  ready: /cluster-uwsgi: serving on unix:/,
  argv: (socket) => [NODE, 'spec/bench/cluster-uwsgi.ts', '--workers', '2', '--bind', `unix:${socket}`],
}
const troupeUwsgi: Backend = {
  name: 'troupe --uwsgi (thread)',
  site: uwsgiSite,
  ready: troupeServing,
  argv: troupe('thread', 'uwsgi'),
}

// ---------------------------------------------------------------------------------------
// Runs.

/** One run: fresh backend and nginx, warm-up, measured wrk against nginx, both stopped. */
const measure = async (section: string, backend: Backend, label: string): Promise<WrkRun | undefined> => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-nginx-'))
  const socket = join(dir, 'app.sock')
  let server: Launched | undefined
  let nginx: Launched | undefined
  try {
    const argv = backend.argv(socket, dir)
    used(section, inDir(argv, dir))
    server = await launch(argv, 30_000, backend.ready)
    nginx = await startNginx(dir, backend.site, socket, section)
    const wrkArgv = (seconds: number) => [
      'wrk',
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      `http://127.0.0.1:${nginx!.port}/`,
    ]
    if (warmup > 0) {
      const warm = await wrk(wrkArgv(warmup), warmup)
      if (errorsOf(warm) > 0)
        flags.push(`${label}: warm-up had ${warm.socketErrors} socket errors, ${warm.non2xx} non-2xx`)
    }
    const argvWrk = wrkArgv(duration)
    used(section, argvWrk)
    const run = await wrk(argvWrk, duration)
    if (errorsOf(run) > 0)
      flags.push(`${label}: ${run.socketErrors} socket errors, ${run.non2xx} non-2xx (of ${run.requests})`)
    return run
  } catch (error) {
    flags.push(`${label}: run failed: ${(error as Error).message}`)
    return undefined
  } finally {
    if (nginx) await stop(nginx, `${label} (nginx)`)
    if (server) await stop(server, label)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Rounds of baseline then each candidate; per candidate the median ratio to its round's baseline. */
const compare = async (section: string, title: string, baseline: Backend, candidates: readonly Backend[]) => {
  const base: WrkRun[] = []
  const runs = candidates.map(() => ({ cand: [] as WrkRun[], ratios: [] as number[] }))
  for (let round = 1; round <= rounds; round++) {
    const b = await measure(section, baseline, `${section} round ${round} ${baseline.name}`)
    if (b) base.push(b)
    progress(`[${section} round ${round}] ${baseline.name}: ${whole(b?.rps ?? Number.NaN)} req/s`)
    for (const [i, candidate] of candidates.entries()) {
      const c = await measure(section, candidate, `${section} round ${round} ${candidate.name}`)
      const slot = runs[i]!
      if (c) slot.cand.push(c)
      if (b && c) slot.ratios.push(c.rps / b.rps)
      progress(
        `[${section} round ${round}] ${candidate.name}: ${whole(c?.rps ?? Number.NaN)} req/s, ` +
          `ratio ${fixed((c?.rps ?? Number.NaN) / (b?.rps ?? Number.NaN), 3)}`,
      )
    }
  }
  const errs = (list: readonly WrkRun[]) =>
    `${list.reduce((a, r) => a + r.socketErrors, 0)}/${list.reduce((a, r) => a + r.non2xx, 0)}`
  const row = (name: string, list: readonly WrkRun[], ratios: readonly number[] | undefined) => ({
    backend: name,
    'ratio (median)': ratios ? fixed(median(ratios), 3) : '1 (baseline)',
    'min–max': ratios ? spread(ratios, 3) : '—',
    'req/s (median)': whole(median(list.map((r) => r.rps))),
    'req/s min–max':
      list.length > 0
        ? `${whole(Math.min(...list.map((r) => r.rps)))}–${whole(Math.max(...list.map((r) => r.rps)))}`
        : '—',
    'p50/p99 ms': `${fixed(median(list.map((r) => r.p50)), 2)}/${fixed(median(list.map((r) => r.p99)), 2)}`,
    'errors (sock/non-2xx)': errs(list),
    flag: [
      list.some((r) => errorsOf(r) > 0) ? 'ERRORS' : '',
      list.length < rounds ? `only ${list.length}/${rounds} runs` : '',
    ]
      .filter(Boolean)
      .join(', '),
  })
  table(title, [
    row(baseline.name, base, undefined),
    ...candidates.map((c, i) => row(c.name, runs[i]!.cand, runs[i]!.ratios)),
  ])
  console.log(`medians over rounds; ratio = req/s ÷ ${baseline.name} req/s of the same round`)
  printCommands(section)
}

const has = (argv: readonly string[]) => spawnSync(argv[0]!, argv.slice(1)).status === 0
const troupeHasUwsgi = () =>
  spawnSync(NODE, ['runtime/master/cli.ts', 'serve', '--help'], { encoding: 'utf8' }).stdout.includes(
    '--uwsgi',
  )

const httpSection = () =>
  compare(
    'http',
    `1. through nginx (1 worker, proxy_pass over a Unix socket, upstream keepalive; the README's config), ` +
      `2 backend workers, hello (req, res), req/s as a ratio to node:cluster ` +
      `(wrk -t1 -c${connections} against nginx, ${duration}s runs after ${warmup}s warm-up, ${rounds} round(s))`,
    cluster,
    [troupeThread, troupeProcess],
  )

const uwsgiSection = async () => {
  if (
    !has(['uwsgi', '--plugin', 'python3', '--version']) ||
    !existsSync('/usr/lib/uwsgi/plugins/python3_plugin.so')
  ) {
    flags.push(
      'uwsgi: uwsgi or its python3 plugin is missing (Debian uwsgi, uwsgi-plugin-python3): section skipped',
    )
    return
  }
  const withUwsgi = troupeHasUwsgi()
  if (!withUwsgi) flags.push('uwsgi: this troupe has no --uwsgi: its row is missing')
  await compare(
    'uwsgi',
    `2. through nginx (1 worker, over a Unix socket), 2 backend workers, hello, req/s as a ratio to uWSGI ` +
      `(uwsgi_pass; troupe also over HTTP with proxy_pass and keepalive) ` +
      `(wrk -t1 -c${connections} against nginx, ${duration}s runs after ${warmup}s warm-up, ${rounds} round(s))`,
    uwsgiServer,
    withUwsgi ? [troupeUwsgi, troupeThread, uwsgiFloor] : [troupeThread, uwsgiFloor],
  )
}

// ---------------------------------------------------------------------------------------

if (!NGINX) {
  console.log('skipped: nginx is not installed (Debian: apt-get install nginx-light)')
  process.exit(0)
}
const version = (argv: readonly string[]) => {
  const out = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' })
  return `${out.stdout}${out.stderr}`.split('\n')[0]?.split(' Copyright')[0]?.trim()
}
const perRun = warmup + duration + 3
const estimate =
  (sections.has('http') ? rounds * 3 * perRun : 0) + (sections.has('uwsgi') ? rounds * 4 * perRun : 0)
console.log(
  `troupe nginx bench — node ${process.version} (${NODE}), ${version([NGINX, '-v'])}, ${version(['wrk', '-v'])}, ` +
    `${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
)
console.log(
  `duration ${duration}s, warm-up ${warmup}s, rounds ${rounds}, connections ${connections}; ` +
    `sections ${[...sections].join(',')}; about ${Math.ceil(estimate / 60)} min; ${show(process.argv.slice(1))}`,
)
try {
  if (sections.has('http')) await httpSection()
  if (sections.has('uwsgi')) await uwsgiSection()
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
} else console.log('\nno errors, no stragglers')
killEverything()
process.exit()
