/**
 * A real nginx for a test (Debian's `nginx-light`): its own temp directory holding its config,
 * pid file, logs and every *_temp_path, one worker, in the foreground as this process's child,
 * on a free 127.0.0.1 port; stopped with its worker when the test ends. nginx cannot listen on
 * port 0, so the port is one the kernel just handed out, and a start that finds it taken
 * (another process won the race) is retried on a fresh one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { onTestFinished } from 'vitest'
import { eventually } from './manual-clock.ts'
import { freePort, nginxConfig, nginxPath, writeNginxConfig } from './nginx-config.ts'
import { ensurePackages } from './packages.ts'
import { childPids, settleWithin } from './troupe-cli.ts'

/** Why nginx tests cannot run here (after installing nginx-light as root), or null when they can. */
export const nginxMissing = (): string | null =>
  ensurePackages(['nginx-light'], () => nginxPath() !== undefined)

export interface NginxOptions {
  /**
   * The config inside nginx's `http {}` block (upstreams, servers), for the port it is to
   * listen on: it must `listen 127.0.0.1:PORT`.
   */
  readonly site: (port: number) => string
  /** Extra directives for the `http {}` block, before the site (proxy_read_timeout 1s; …). */
  readonly http?: string | undefined
  /** Where ports to try come from (by default, ports the kernel just handed out). */
  readonly ports?: (() => Promise<number>) | undefined
}

export interface Nginx {
  readonly port: number
  /** http://127.0.0.1:PORT */
  readonly base: string
  readonly dir: string
  /** The whole config nginx runs with. */
  readonly config: string
  readonly pid: number
  /** Its error log so far (and whatever it wrote to stderr). */
  errors(): string
  /** Its access log so far. */
  access(): string
  /** Stops it (QUIT, then KILL for it and its workers); also done when the test ends. */
  stop(): Promise<void>
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

/** Whether `pid` is still a process named nginx (a pid reused by another program is left alone). */
const isNginx = (pid: number): boolean => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('nginx')
  } catch {
    return false
  }
}

const launchOnce = async (options: NginxOptions, binary: string): Promise<Nginx | 'port taken'> => {
  const port = await (options.ports ?? freePort)()
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-nginx-')))
  const site = { dir, site: options.site(port), http: options.http }
  const config = nginxConfig(site)
  const args = writeNginxConfig(site)
  fs.writeFileSync(path.join(dir, 'error.log'), '')
  // Checked first: a config that does not parse fails here with nginx's own words.
  const test = spawnSync(binary, ['-t', ...args], { encoding: 'utf8' })
  if (test.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw new Error(`nginx -t refused the config:\n${test.stderr}\n--- config\n${config}`)
  }
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const workers = new Set<number>()
  const read = (file: string) => {
    try {
      return fs.readFileSync(path.join(dir, file), 'utf8')
    } catch {
      return ''
    }
  }
  const errors = () => read('error.log') + stderr
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      if (child.pid !== undefined) for (const pid of childPids(child.pid)) workers.add(pid)
      if (alive(child)) {
        child.kill('SIGQUIT')
        if ((await settleWithin(exited, 5_000)) === 'timeout') {
          child.kill('SIGKILL')
          await exited
        }
      }
      // A worker left behind by a killed master is killed too.
      for (const pid of workers) {
        try {
          if (isNginx(pid)) process.kill(pid, 'SIGKILL')
        } catch {
          // Gone between the look and the kill.
        }
      }
      await eventually(() => [...workers].every((pid) => !isNginx(pid)), 5_000, 'nginx workers gone')
      fs.rmSync(dir, { recursive: true, force: true })
    })()
    return stopped
  }
  onTestFinished(stop)
  // nginx writes its pid into its pid file once its listening sockets are bound (a bind that
  // fails is retried for a couple of seconds, then nginx exits). The file alone proves
  // nothing: `nginx -t` above leaves one behind, with its own pid.
  const outcome = await eventually(
    () => {
      if (/Address already in use/.test(errors())) return 'port taken'
      if (!alive(child)) return 'exited'
      return read('nginx.pid').trim() === String(child.pid) ? 'bound' : undefined
    },
    15_000,
    `nginx to bind 127.0.0.1:${port}; its log:\n${errors()}`,
  )
  if (outcome !== 'bound') {
    await stop()
    if (outcome === 'port taken') return 'port taken'
    throw new Error(`nginx exited at start:\n${errors()}`)
  }
  await eventually(
    () => {
      if (child.pid !== undefined) for (const pid of childPids(child.pid)) workers.add(pid)
      return workers.size > 0
    },
    10_000,
    'the nginx worker',
  ).catch((error: Error) => {
    throw new Error(`${error.message} (master ${child.pid}, alive ${alive(child)}); its log:\n${errors()}`)
  })
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    dir,
    config,
    pid: child.pid!,
    errors,
    access: () => read('access.log'),
    stop,
  }
}

/** Starts nginx with `options` (see NginxOptions); it is stopped when the test ends. */
export const startNginx = async (options: NginxOptions): Promise<Nginx> => {
  const binary = nginxPath()
  if (!binary) throw new Error('nginx is not installed: call nginxMissing() first')
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = await launchOnce(options, binary)
    if (started !== 'port taken') return started
  }
  throw new Error('nginx found its port taken five times in a row')
}
