/**
 * The config the container image serves (deploy/Dockerfile runs `troupe serve --config
 * deploy/troupe.config.ts`): the example app on 0.0.0.0:8000, in process workers whose memory
 * limits are shares of the container's, so troupe recycles or replaces a worker before the
 * kernel's OOM killer ends the whole container.
 *
 * - Workers: `WEB_CONCURRENCY` (the Deployment sets it from the pod's CPU request), which
 *   beats the value here; without it, the CPUs this process may run on.
 * - Memory: `MEMORY_LIMIT_MB` (the Deployment sets it from `limits.memory`), else the
 *   container's cgroup limit (`docker run -m`). Each worker gets an equal share of what is left
 *   after `MASTER_MB`; with no limit anywhere, workers have none either.
 *
 * spec/deploy.manifests.test.ts resolves this file with the Deployment's environment and
 * arguments and checks it against the manifests. Only a type is imported: the image needs no
 * troupe source to read this file.
 */
import { availableParallelism } from 'node:os'
import type { TroupeConfig } from '../runtime/master/config.ts'

/**
 * Memory (MiB) the container keeps beyond the workers' shares: the master itself (acceptor,
 * app actors) and a replacement worker that starts before a recycled one stops.
 */
export const MASTER_MB = 256
/** A process worker's RSS once it serves (Node, the app): a smaller share could not run. */
export const MIN_WORKER_MB = 128
/** The soft limit (graceful recycle) as a fraction of the hard one (the worker is killed). */
const SOFT_SHARE = 0.8
/** A cgroup reports "no limit" as a number past any real machine's memory. */
const NO_LIMIT_BYTES = 2 ** 60

const positiveInteger = (text: string | undefined): number | undefined => {
  const n = Number(text)
  return text !== undefined && Number.isInteger(n) && n > 0 ? n : undefined
}

const containerMb = (): number | undefined => {
  const fromEnv = positiveInteger(process.env.MEMORY_LIMIT_MB)
  if (fromEnv !== undefined) return fromEnv
  const bytes = process.constrainedMemory()
  return bytes > 0 && bytes < NO_LIMIT_BYTES ? Math.floor(bytes / 2 ** 20) : undefined
}

const workers = positiveInteger(process.env.WEB_CONCURRENCY) ?? availableParallelism()
const limitMb = containerMb()

/** Each worker's hard limit (MiB), or 0 (none) when the container has no limit. */
const workerMb = (): number => {
  if (limitMb === undefined) return 0
  const share = Math.floor((limitMb - MASTER_MB) / workers)
  // Refused here rather than at the first OOM kill: the container would start and then loop.
  if (share < MIN_WORKER_MB)
    throw new Error(
      `${limitMb} MiB of memory for ${workers} workers leaves ${share} MiB each after the master's ${MASTER_MB}; ` +
        `each needs ${MIN_WORKER_MB}: raise the memory limit or lower WEB_CONCURRENCY`,
    )
  return share
}
const memory = workerMb()

export default {
  app: '../apps/visits.ts',
  bind: '0.0.0.0:8000',
  workers,
  // RSS limits (memory, memorySoft) hold for process workers; a thread's limit is its V8 heap only.
  placement: 'process',
  kind: 'coroutine',
  timeout: 20,
  // Not shorter than timeout: a request that started just before the stop may still finish.
  gracefulTimeout: 25,
  memory,
  memorySoft: Math.floor(memory * SOFT_SHARE),
} satisfies TroupeConfig
