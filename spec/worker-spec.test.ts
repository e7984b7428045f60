/** workerSpec: what a worker is started with, from the config alone. */
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../runtime/master/config.ts'
import { heartbeatMs, type WorkerSetting, workerSpec } from '../runtime/master/worker-spec.ts'

const config = (flags: Record<string, unknown> = {}) =>
  resolveConfig({ flags: { app: '/srv/app.ts', ...flags } }).config
const setting: WorkerSetting = {
  app: 'file:///srv/app.ts',
  actorsPath: '/troupe/actors',
  binds: [{ kind: 'tcp', host: '127.0.0.1', port: 8123 }],
  random: () => 0.5,
}

describe('workerSpec', () => {
  it('turns seconds into ms, fills the defaults, and carries the generation and where things are', () => {
    const spec = workerSpec(config({ timeout: 10, gracefulTimeout: 4, keepAlive: 3 }), 7, setting)
    expect(spec).toEqual({
      placement: 'thread',
      args: {
        app: 'file:///srv/app.ts',
        kind: 'coroutine',
        threads: 4,
        threadQueue: 64,
        connections: 1_000,
        timeoutMs: 10_000,
        keepAliveMs: 3_000,
        headersTimeoutMs: 20_000,
        maxHeaderSize: 16_384,
        maxHeaders: 100,
        maxBodySize: 10 * 1024 * 1024,
        uwsgi: { maxVarsSize: 65_535, maxVars: 164 },
        proxyAllowFrom: ['127.0.0.1', '::1'],
        forwardedAllowIps: ['127.0.0.1', '::1'],
        http2: { tls: true, cleartext: false, maxConcurrentStreams: 100 },
        maxQueueDelayMs: 0,
        maxRequests: 0,
        drainIdleMs: 1_000,
        generation: 7,
        actorsPath: '/troupe/actors',
        gracefulMs: 4_000,
        log: { format: 'text', level: 'info', name: null },
      },
      shutdownTimeout: 6_000,
      heartbeatInterval: 1_000,
      heartbeatTimeout: 10_000,
      mailbox: 100_000,
    })
  })

  it('carries the log settings as the master settled them, and the access log when one is on', () => {
    const cfg = config({ logLevel: 'warn', logFormat: 'auto', name: 'shop' })
    expect(workerSpec(cfg, 1, { ...setting, logFormat: 'json' }).args.log).toEqual({
      format: 'json',
      level: 'warn',
      name: 'shop',
    })
    expect(workerSpec(cfg, 1, setting).args).not.toHaveProperty('accessLog')
    const logged = config({ accessLog: '/var/log/shop.log', accessLogFormat: 'combined' })
    expect(workerSpec(logged, 1, setting).args.accessLog).toEqual({
      target: '/var/log/shop.log',
      format: 'combined',
    })
  })

  it('draws the max-requests jitter from 0..jitter, both ends included', () => {
    const cfg = config({ maxRequests: 100, maxRequestsJitter: 10 })
    const draw = (n: number) => workerSpec(cfg, 1, { ...setting, random: () => n }).args.maxRequests
    expect(draw(0)).toBe(100)
    expect(draw(0.5)).toBe(105)
    expect(draw(0.999_999)).toBe(110)
    expect(workerSpec(config({ maxRequests: 0 }), 1, setting).args.maxRequests).toBe(0)
  })

  it('gives reuseport workers the concrete binds and the backlog; handoff workers none', () => {
    expect(workerSpec(config({ strategy: 'reuseport', backlog: 77 }), 1, setting).args.reuseport).toEqual({
      binds: setting.binds,
      backlog: 77,
    })
    expect(workerSpec(config(), 1, setting).args).not.toHaveProperty('reuseport')
  })

  it('limits a thread worker’s heap by `memory`; a process worker is watched by the pool instead', () => {
    expect(workerSpec(config({ memory: 256 }), 1, setting).resourceLimits).toEqual({
      maxOldGenerationSizeMb: 256,
    })
    expect(workerSpec(config({ memory: 256, placement: 'process' }), 1, setting)).not.toHaveProperty(
      'resourceLimits',
    )
    expect(workerSpec(config(), 1, setting)).not.toHaveProperty('resourceLimits')
  })

  it('an explicit thread queue is kept; the heartbeat is a quarter of a short timeout, at most 1 s', () => {
    expect(
      workerSpec(config({ kind: 'thread-pool', threads: 2, threadQueue: 5 }), 1, setting).args,
    ).toMatchObject({ kind: 'thread-pool', threads: 2, threadQueue: 5 })
    expect(heartbeatMs(config({ timeout: 2 }))).toBe(500)
    expect(heartbeatMs(config({ timeout: 30 }))).toBe(1_000)
  })
})
