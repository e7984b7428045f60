/**
 * What a worker of one generation is started with, derived from the config alone: its args
 * (what the worker itself reads) and its actor options (what its supervisor enforces). Pure:
 * the same config, generation and draw give the same spec, so it is tested without a worker.
 */
import { resolve } from 'node:path'
import type { HttpWorkerArgs } from '../../actors/http-worker/http-worker.ts'
import type { BindAddress } from '../../transports/http/listen.ts'
import type { ActorOptions } from '../system.ts'
import type { ResolvedConfig } from './config.ts'

/** What the spec needs besides the config: where things are, decided once by the master. */
export interface WorkerSetting {
  /** file: URL of the app module. */
  readonly app: string
  /** The app's style as the master found it on loading or checking the app (see WorkerArgs.appStyle). */
  readonly appStyle?: 'fetch' | 'node'
  /** Where the app's actors live in the tree. */
  readonly actorsPath: string
  /** Reuseport: the concrete addresses every worker of the generation binds (port 0 already chosen). */
  readonly binds: readonly BindAddress[]
  /** The log format the master settled `auto` to (its stderr a terminal or not); default: text unless json. */
  readonly logFormat?: 'text' | 'json'
  /** 0 ≤ n < 1, for the max-requests jitter; Math.random unless a test fixes it. */
  readonly random?: () => number
  /**
   * TLS session ticket keys (48 bytes, base64) shared by every worker of the generation: a
   * client resumes its session on whichever worker its next connection reaches. New with each
   * generation, so a reload rotates them.
   */
  readonly ticketKeys?: string
}

export type WorkerOptions = Required<
  Pick<
    ActorOptions<HttpWorkerArgs>,
    'placement' | 'args' | 'shutdownTimeout' | 'heartbeatInterval' | 'heartbeatTimeout' | 'mailbox'
  >
> &
  Pick<ActorOptions<HttpWorkerArgs>, 'resourceLimits' | 'spare'>

/** Config durations are seconds; timers take ms. */
export const ms = (seconds: number): number => Math.round(seconds * 1000)

/** The heartbeat period of a worker: often enough to notice a blocked loop well within `timeout`. */
export const heartbeatMs = (config: ResolvedConfig): number => Math.min(1_000, ms(config.timeout) / 4)

/** The args and actor options of one worker of `generation` under `config`. */
export const workerSpec = (
  config: ResolvedConfig,
  generation: number,
  setting: WorkerSetting,
): WorkerOptions => {
  const random = setting.random ?? Math.random
  const args: HttpWorkerArgs = {
    app: setting.app,
    ...(setting.appStyle ? { appStyle: setting.appStyle } : {}),
    kind: config.kind,
    threads: config.threads,
    threadQueue: config.threadQueue > 0 ? config.threadQueue : config.threads * 16,
    connections: config.connections,
    maxQueueDelayMs: config.maxQueueDelay,
    timeoutMs: ms(config.timeout),
    keepAliveMs: ms(config.keepAlive),
    headersTimeoutMs: ms(config.headersTimeout),
    maxHeaderSize: config.maxHeaderSize,
    maxHeaders: config.maxHeaders,
    maxBodySize: config.maxBodySize,
    uwsgi: { maxVarsSize: config.uwsgiBufferSize, maxVars: config.maxHeaders + 64 },
    proxyAllowFrom: config.proxyAllowFrom,
    forwardedAllowIps: config.forwardedAllowIps,
    http2: {
      tls: config.http2,
      cleartext: config.http2Cleartext === 'prior-knowledge',
      maxConcurrentStreams: config.http2MaxConcurrentStreams,
    },
    // Jitter drawn per worker, so workers started together do not recycle together.
    maxRequests:
      config.maxRequests > 0 ? config.maxRequests + Math.floor(random() * (config.maxRequestsJitter + 1)) : 0,
    drainIdleMs: Math.min(1_000, ms(config.keepAlive)),
    generation,
    actorsPath: setting.actorsPath,
    gracefulMs: ms(config.gracefulTimeout),
    log: {
      format: setting.logFormat ?? (config.logFormat === 'json' ? 'json' : 'text'),
      level: config.logLevel,
      name: config.name,
    },
    ...(config.accessLog !== null
      ? { accessLog: { target: config.accessLog, format: config.accessLogFormat } }
      : {}),
    ...(config.strategy === 'reuseport'
      ? { reuseport: { binds: setting.binds, backlog: config.backlog } }
      : {}),
    // Paths, not contents: each worker reads the files as it starts, so a reload serves renewed
    // ones. Only for an https:// bind: files named but not used are not read (nor needed).
    ...(config.certfile !== null &&
    config.keyfile !== null &&
    config.bind.some((b) => b.startsWith('https://'))
      ? {
          tls: {
            certfile: resolve(config.certfile),
            keyfile: resolve(config.keyfile),
            caCerts: config.caCerts === null ? null : resolve(config.caCerts),
            minVersion: config.tlsMinVersion,
            ciphers: config.ciphers,
            ...(setting.ticketKeys ? { ticketKeys: setting.ticketKeys } : {}),
          },
        }
      : {}),
  }
  return {
    placement: config.placement,
    args,
    // Drain time plus room to run teardown before the forced path.
    shutdownTimeout: ms(config.gracefulTimeout) + 2_000,
    heartbeatInterval: heartbeatMs(config),
    heartbeatTimeout: ms(config.timeout),
    // Connections are messages: the acceptor must not be refused by a busy worker's mailbox.
    mailbox: 100_000,
    ...(config.placement === 'thread' && config.memory > 0
      ? { resourceLimits: { maxOldGenerationSizeMb: config.memory } }
      : {}),
    ...(config.placement === 'process' && config.spareProcess ? { spare: true } : {}),
  }
}
