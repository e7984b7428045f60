/**
 * The commands that talk to a running master over its control socket. Each waits for the
 * outcome it announces and says it in one line; it exits 1 when the master refused, failed or
 * did not answer within --timeout.
 */
import { describeExit } from '../../exit.ts'
import type { Stats } from '../control/api.ts'
import { connect, listInstances, type RemoteMaster } from '../control/connect.ts'
import { controlDirectory } from '../control/socket-path.ts'
import type { ControlParsed } from '../control-args.ts'
import type { LogThreshold } from '../log.ts'
import { running } from '../pid-file.ts'
import { columns, count, duration, megabytes, millis } from './format.ts'
import { renderTree } from './tree-view.ts'

export interface Output {
  readonly out: (text: string) => void
  readonly tty: boolean
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/** Rejects when `promise` takes longer than `ms`: the command then exits 1 and says so. */
const within = async <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`${what}: no outcome within ${ms / 1000} s (--timeout); the master may still finish it`),
        ),
      ms,
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

const gone = (pid: number): boolean => !running(pid)

const ls = async (parsed: ControlParsed, output: Output): Promise<number> => {
  const dir = controlDirectory()
  const instances = await listInstances(dir)
  if (parsed.json) {
    output.out(json(instances))
    return 0
  }
  if (instances.length === 0) {
    output.out(`no running troupe masters (looked in ${dir})\n`)
    return 0
  }
  const now = Date.now()
  const rows = instances.map((i) => [
    i.name ?? '-',
    String(i.pid),
    i.binds.join(','),
    String(i.workers),
    String(i.generation),
    duration(now - i.startedAt),
    i.control ?? '-',
  ])
  output.out(
    `${columns([['NAME', 'PID', 'BINDS', 'WORKERS', 'GEN', 'UPTIME', 'CONTROL'], ...rows]).join('\n')}\n`,
  )
  return 0
}

/** `troupe stats` without --json: the headline figures; --json has everything. */
const statsText = (stats: Stats): string => {
  const { instance, totals } = stats
  const lines = [
    `master ${instance.name ?? '(unnamed)'} pid ${instance.pid}, generation ${instance.generation}, up ${duration(stats.at - instance.startedAt)}`,
    ...stats.listeners.map(
      (l) =>
        `listener ${l.address} (${l.protocol}, ${l.strategy}): accepted ${l.accepted}, refused ${l.refused}, queued ${l.queued}`,
    ),
    `requests ${totals.requests} (2xx ${totals.status['2xx']}, 3xx ${totals.status['3xx']}, 4xx ${totals.status['4xx']}, 5xx ${totals.status['5xx']}), in flight ${totals.inflight}, shed ${totals.shed}, timeouts ${totals.timeouts}`,
    // Only where there are some: most apps never upgrade a connection.
    ...(totals.upgraded > 0
      ? [`upgraded connections ${totals.upgraded} (WebSocket…), apart from requests`]
      : []),
    `latency p50 ${millis(totals.latency.p50Ms)}, p99 ${millis(totals.latency.p99Ms)}, mean ${millis(totals.latency.meanMs)}`,
    `worker restarts ${totals.restarts}; exits by reason: ${
      Object.entries(stats.exitsByReason)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    '',
    ...columns([
      ['WORKER', 'GEN', 'PID', 'STATE', 'REQUESTS', 'INFLIGHT', 'P50', 'P99', '5XX', 'MEMORY', 'RESTARTS'],
      ...stats.workers.map((w) => [
        w.id,
        String(w.generation),
        w.threadId ? `${w.pid}/t${w.threadId}` : count(w.pid),
        w.draining ? 'draining' : w.state,
        String(w.requests),
        String(w.inflight),
        millis(w.latency.p50Ms),
        millis(w.latency.p99Ms),
        String(w.status['5xx']),
        megabytes(w.memory?.rss),
        String(w.restarts),
      ]),
    ]),
  ]
  return `${lines.join('\n')}\n`
}

/** Runs one steering command against `master`; returns the exit code. */
const steer = async (master: RemoteMaster, parsed: ControlParsed, output: Output): Promise<number> => {
  const { out } = output
  const { timeoutMs } = parsed
  switch (parsed.command) {
    case 'tree': {
      const tree = await master.tree()
      out(parsed.json ? json(tree) : renderTree(tree, { tty: output.tty }))
      return 0
    }
    case 'stats': {
      const stats = await master.stats()
      out(parsed.json ? json(stats) : statsText(stats))
      return 0
    }
    case 'reload': {
      const r = await within(master.reload(), timeoutMs, 'reload')
      out(
        `reloaded: generation ${r.generation} serves with ${r.workers} worker(s); the old generation drained (${(r.durationMs / 1000).toFixed(1)} s)\n`,
      )
      return 0
    }
    case 'scale': {
      const r = await within(master.scale(parsed.argument as `+${number}`), timeoutMs, 'scale')
      out(
        r.from === r.to
          ? `${r.to} worker(s) serving; nothing to change\n`
          : `scaled from ${r.from} to ${r.to} worker(s)\n`,
      )
      return 0
    }
    case 'kill': {
      const r = await within(master.kill(parsed.argument!), timeoutMs, 'kill')
      if (!r.replaced) {
        out(`killed ${r.worker} (${describeExit(r.reason)}); it was not replaced\n`)
        return 1
      }
      out(
        `killed ${r.worker} (${describeExit(r.reason)}); its replacement is ready (restart ${r.restarts})\n`,
      )
      return 0
    }
    case 'restart': {
      const r = await within(master.restart(parsed.argument!), timeoutMs, 'restart')
      if (parsed.json) out(json(r))
      else {
        const where = r.threadId !== null ? `thread ${r.threadId}` : `pid ${r.pid}`
        const how = r.state === 'ready' ? '' : `; it is ${r.state}`
        out(`restarted ${r.actor} (restart ${r.restarts}, ${where})${how}\n`)
      }
      return r.state === 'ready' ? 0 : 1
    }
    case 'log-level': {
      const level = await master.setLogLevel(parsed.argument as LogThreshold)
      out(`log level: ${level}\n`)
      return 0
    }
    case 'stop': {
      const { pid } = master.instance
      await master.stop({ graceful: !parsed.fast })
      out(`stopping master pid ${pid} (${parsed.fast ? 'fast' : 'draining'})…\n`)
      await within(master.closed, timeoutMs, 'stop')
      // The socket closes as the master finishes; its exit follows within moments.
      const deadline = Date.now() + 5_000
      while (!gone(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      out(
        gone(pid)
          ? `stopped (pid ${pid} exited)\n`
          : `the control socket closed; pid ${pid} is still exiting\n`,
      )
      return 0
    }
    case 'top':
      return (await import('./top.ts')).topCommand(master, parsed.intervalMs)
    case 'ls':
      return ls(parsed, output)
  }
}

export const runControlCommand = async (parsed: ControlParsed, output: Output): Promise<number> => {
  if (parsed.command === 'ls') return ls(parsed, output)
  const env = process.env
  const control = parsed.control ?? env.TROUPE_CONTROL
  const name = parsed.name ?? env.TROUPE_NAME
  const master = await connect({ ...(control ? { control } : {}), ...(name ? { name } : {}) })
  try {
    return await steer(master, parsed, output)
  } finally {
    master.close()
  }
}
