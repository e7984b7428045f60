/**
 * The control API as the master implements it, over the Server facade: each method waits for
 * the outcome it promises (a kill: the replacement ready) and refuses with a coded error what
 * it cannot do, so a CLI can say what happened and exit non-zero when it did not.
 */
import { InvalidOptionError } from '../../errors.ts'
import type { TreeNode } from '../../tree.ts'
import type { LogThreshold } from '../log.ts'
import type { Server } from '../master.ts'
import { logLevels } from '../options.ts'
import type { ControlApi, KillOutcome, ReloadOutcome, RestartOutcome, ScaleOutcome } from './api.ts'

/** What the command that runs the master (cli.ts) does itself: a reload re-reads the config from disk, a stop exits. */
export interface MasterOps {
  /** Re-reads the config file and the environment, then reloads (as HUP does); rejects if the reload failed. */
  readonly reload: () => Promise<void>
  readonly stop: (graceful: boolean) => void
  readonly setLogLevel: (level: LogThreshold) => LogThreshold
}

/** How long kill() waits for the replacement to be ready before saying it was not replaced. */
const REPLACE_WAIT_MS = 30_000

const workerNodes = (tree: TreeNode): readonly TreeNode[] =>
  tree.children?.find((child) => child.name === 'workers')?.children ?? []

/** `4`, `'+1'`, `'-2'` against the serving count. */
export const scaleTarget = (workers: unknown, serving: number): number => {
  const text = String(workers).trim()
  if (!/^[+-]?\d+$/.test(text))
    throw new InvalidOptionError(`scale: expected a worker count N, +N or -N, got "${text}"`)
  const n = Number(text)
  return text.startsWith('+') || text.startsWith('-') ? serving + n : n
}

export const controlApi = (server: Server, ops: MasterOps): ControlApi => {
  const api: ControlApi = {
    info: () => server.info(),
    tree: () => server.tree(),
    stats: () => server.stats(),
    async reload(): Promise<ReloadOutcome> {
      const started = performance.now()
      await ops.reload()
      return {
        generation: server.generation,
        workers: server.config.workers,
        durationMs: Math.round(performance.now() - started),
      }
    },
    async scale(workers): Promise<ScaleOutcome> {
      const from = server.config.workers
      const to = scaleTarget(workers, from)
      // Refusals go through the server too: it logs and publishes them like TTOU's.
      await server.scale(to)
      if (to < 1)
        throw new InvalidOptionError(
          `scale: at least one worker must serve (asked for ${to}; ${from} serving)`,
        )
      return { from, to: server.config.workers }
    },
    async kill(worker): Promise<KillOutcome> {
      const before = workerNodes(server.tree()).find((node) => node.name === worker)
      if (!before) {
        const known = workerNodes(server.tree()).map((node) => node.name)
        throw new InvalidOptionError(`kill: no worker "${worker}" (workers: ${known.join(', ') || 'none'})`)
      }
      server.kill(worker)
      const deadline = performance.now() + REPLACE_WAIT_MS
      for (;;) {
        const node = workerNodes(server.tree()).find((n) => n.name === worker)
        const replaced = node !== undefined && node.restarts > before.restarts && node.state === 'ready'
        if (replaced || node === undefined || performance.now() > deadline)
          return {
            worker,
            reason: node?.lastExit ?? { kind: 'killed', signal: 'SIGKILL' },
            restarts: node?.restarts ?? before.restarts,
            replaced,
          }
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    },
    async restart(actor): Promise<RestartOutcome> {
      const node = await server.restartActor(String(actor))
      return {
        actor: node.path,
        restarts: node.restarts,
        state: node.state,
        pid: node.pid ?? null,
        threadId: node.threadId ?? null,
      }
    },
    async stop(options = {}): Promise<void> {
      ops.stop(options.graceful !== false)
    },
    async setLogLevel(level) {
      if (!(logLevels as readonly string[]).includes(level))
        throw new InvalidOptionError(`setLogLevel: expected one of ${logLevels.join(', ')}, got "${level}"`)
      ops.setLogLevel(level)
      await server.setLogLevel(level)
      return level
    },
  }
  return Object.freeze(api)
}
