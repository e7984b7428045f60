/**
 * USR2, the old master's side: start a new master (the same command line, so it runs the
 * troupe code now on disk) that inherits the listening sockets, wait until it serves, then
 * hand over — gunicorn's and nginx's binary upgrade. The listening sockets stay open
 * throughout (both masters hold them), so no connection is refused while masters change.
 * The protocol between the two is in upgrade-protocol.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { formatBind } from '../../transports/http/listen.ts'
import { warningLine } from '../warnings.ts'
import type { InheritedListener, Server } from './master.ts'
import type { PidFile } from './pid-file.ts'
import { READY_LINE, upgradeEnvironment } from './upgrade-protocol.ts'
import { ms } from './worker-spec.ts'

export interface UpgradeOptions {
  /** The running server, or none while starting or stopping (then USR2 is refused). */
  readonly server: () => Server | undefined
  /** The environment and working directory the master found at start (before --chdir). */
  readonly environment: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly pidFile: () => PidFile | undefined
  readonly log: (line: string) => void
  /** The new master (pid) serves: stop taking connections, drain, exit. */
  readonly handOver: (pid: number) => void
}

/** Takes USR2: one upgrade at a time, refused with a line while one is under way. */
export class Upgrader {
  readonly #options: UpgradeOptions
  #child: ChildProcess | undefined

  constructor(options: UpgradeOptions) {
    this.#options = options
  }

  /** A new master is starting (or serves and this one drains): its socket files are not this master's to remove. */
  get underWay(): boolean {
    return this.#child !== undefined
  }

  /** USR2: starts a new master, unless one is starting already or this master does not serve. */
  request(): void {
    const { log } = this.#options
    if (this.#child) {
      log(
        warningLine(
          'TROUPE_W_SIGNAL_IGNORED',
          `SIGUSR2 ignored: an upgrade is under way (new master pid ${this.#child.pid})`,
        ),
      )
      return
    }
    const server = this.#options.server()
    if (!server) {
      log(warningLine('TROUPE_W_SIGNAL_IGNORED', 'SIGUSR2 ignored: this master is starting or stopping'))
      return
    }
    try {
      this.#start(server)
    } catch (error) {
      // Nothing started (no descriptor to hand over, spawn refused): nothing to undo but the pid file.
      this.#child = undefined
      this.#options.pidFile()?.restore()
      log(
        warningLine(
          'TROUPE_W_UPGRADE_FAILED',
          `upgrade failed: ${(error as Error).message}; still serving (pid ${process.pid})`,
        ),
      )
    }
  }

  #start(server: Server): void {
    const { log } = this.#options
    const handed = server.handOver()
    // The child's descriptors: 0–2 shared with this master, then the listeners, then the ready pipe.
    const fds = handed.flatMap((l) => (l.fd === undefined ? [] : [l.fd]))
    let next = 3
    const listeners: InheritedListener[] = handed.map(({ bind, address, fd, role }) => ({
      bind,
      address: formatBind(address),
      ...(fd === undefined ? {} : { fd: next++ }),
      ...(role === undefined ? {} : { role }),
    }))
    const readyFd = next
    this.#options.pidFile()?.setAside()
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      cwd: this.#options.cwd,
      env: { ...this.#options.environment, ...upgradeEnvironment(listeners, readyFd) },
      stdio: ['inherit', 'inherit', 'inherit', ...fds, 'pipe'],
    })
    this.#child = child
    // Without a pid the spawn failed, and its 'error' event says why.
    if (child.pid !== undefined)
      log(`upgrade: started a new master (pid ${child.pid}); it inherits ${describe(listeners)}`)
    // This master's setting: the new one's config is not known until it is read there.
    this.#await(child, readyFd, server.config.upgradeTimeout)
  }

  #await(child: ChildProcess, readyFd: number, timeout: number): void {
    const ready = child.stdio[readyFd]!
    let said = ''
    let settled = false
    const settle = () => {
      settled = true
      clearTimeout(timer)
      ready.destroy()
      child.off('exit', onExit)
    }
    const fail = (why: string) => {
      if (settled) return
      settle()
      this.#child = undefined
      this.#options.pidFile()?.restore()
      this.#options.log(
        warningLine('TROUPE_W_UPGRADE_FAILED', `upgrade failed: ${why}; still serving (pid ${process.pid})`),
      )
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(
        `the new master (pid ${child.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before it served`,
      )
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(
        `the new master (pid ${child.pid}) did not serve within ${timeout} s (upgradeTimeout) and was killed`,
      )
    }, ms(timeout))
    child.on('exit', onExit)
    child.on('error', (error) => fail(`cannot start a new master: ${error.message}`))
    ready.on('error', () => {})
    ready.on('data', (chunk: Buffer) => {
      said += chunk.toString('utf8')
      if (settled || !said.includes(READY_LINE)) return
      settle()
      // It is no child of ours from now on: this master exits without waiting for it.
      child.unref()
      this.#options.handOver(child.pid!)
    })
  }
}

const describe = (listeners: readonly InheritedListener[]): string =>
  listeners.length === 0
    ? 'no listener'
    : listeners
        .map((l) => {
          const what = l.role === 'admin' ? `admin ${l.address}` : l.address
          return l.fd === undefined ? `${what} (port)` : `${what} (fd ${l.fd})`
        })
        .join(', ')
