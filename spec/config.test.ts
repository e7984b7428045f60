/**
 * Config resolution as a unit: the option table's defaults, precedence (flags > env > file >
 * defaults) with each value's source, every validator's refusal, the warnings for renamed
 * values and settings that do not apply, and the docs and types derived from the table.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { parseAppRef } from '../apps/app-ref.ts'
import { parseCommandLine, UsageError } from '../runtime/master/cli-args.ts'
import {
  type ConfigKey,
  configDefaults,
  configKeys,
  defineConfig,
  envName,
  flagName,
  type Layers,
  type ResolvedConfig,
  resolveConfig,
  type TroupeConfig,
} from '../runtime/master/config.ts'
import { commandHelp, optionRows } from '../runtime/master/help.ts'
import { optionTable } from '../runtime/master/options.ts'

const refusal = (layers: Layers): string => {
  try {
    resolveConfig(layers)
  } catch (error) {
    expect((error as { code?: string }).code).toBe('TROUPE_E_CONFIG')
    return (error as Error).message
  }
  throw new Error(`resolved without an error: ${JSON.stringify(layers.flags ?? layers.env ?? layers.file)}`)
}

describe('defaults', () => {
  it('nothing given: every option at its table default, from "default", no warning', () => {
    const { config, sources, warnings } = resolveConfig({})
    expect(config).toEqual(configDefaults)
    for (const key of Object.keys(optionTable)) expect(sources[key as ConfigKey]).toBe('default')
    expect(warnings).toEqual([])
    expect(config).toMatchObject({ bind: ['127.0.0.1:8000'], workers: 1, placement: 'thread', timeout: 30 })
    expect(Object.isFrozen(config)).toBe(true)
  })
})

describe('precedence: flags > environment > file > defaults', () => {
  const file = {
    path: '/etc/shop/troupe.config.ts',
    values: { workers: 3, bind: '127.0.0.1:9000', keepAlive: 7 },
  }

  it('the file beats the defaults', () => {
    const { config, sources } = resolveConfig({ file })
    expect(config.workers).toBe(3)
    expect(config.bind).toEqual(['127.0.0.1:9000'])
    expect(sources.workers).toBe('file /etc/shop/troupe.config.ts')
    expect(sources.timeout).toBe('default')
  })

  it('PORT and WEB_CONCURRENCY beat the file; TROUPE_* beats them', () => {
    const aliases = resolveConfig({ file, env: { PORT: '7000', WEB_CONCURRENCY: '5' } })
    expect(aliases.config.bind).toEqual(['0.0.0.0:7000'])
    expect(aliases.sources.bind).toBe('env PORT')
    expect(aliases.config.workers).toBe(5)
    expect(aliases.sources.workers).toBe('env WEB_CONCURRENCY')

    const own = resolveConfig({
      file,
      env: { PORT: '7000', WEB_CONCURRENCY: '5', TROUPE_BIND: 'unix:/tmp/s.sock', TROUPE_WORKERS: '6' },
    })
    expect(own.config.bind).toEqual(['unix:/tmp/s.sock'])
    expect(own.sources.bind).toBe('env TROUPE_BIND')
    expect(own.config.workers).toBe(6)
    expect(own.sources.workers).toBe('env TROUPE_WORKERS')
    expect(own.config.keepAlive).toBe(7)
  })

  it('flags beat everything', () => {
    const { config, sources } = resolveConfig({
      file,
      env: { TROUPE_WORKERS: '6', TROUPE_KEEP_ALIVE: '9' },
      flags: { workers: '8', bind: ['127.0.0.1:1', 'unix:/tmp/a.sock'] },
    })
    expect(config.workers).toBe(8)
    expect(sources.workers).toBe('flag --workers')
    expect(config.bind).toEqual(['127.0.0.1:1', 'unix:/tmp/a.sock'])
    expect(config.keepAlive).toBe(9)
    expect(sources.keepAlive).toBe('env TROUPE_KEEP_ALIVE')
  })

  it('every option but actors has a flag and an environment variable named after its key', () => {
    for (const key of configKeys) {
      // maxRequestsJitter needs maxRequests.
      const { sources: byEnv } = resolveConfig({
        env: { TROUPE_MAX_REQUESTS: '9', [envName(key)]: text(key) },
      })
      expect(byEnv[key]).toBe(`env ${envName(key)}`)
      const { sources: byFlag } = resolveConfig({ flags: { maxRequests: '9', [key]: text(key) } })
      expect(byFlag[key]).toBe(`flag --${flagName(key)}`)
    }
    expect(configKeys).not.toContain('actors')
  })
})

/** A valid value of each option, as text (what a flag or variable holds). */
const good: Record<ConfigKey, string> = {
  app: '/srv/app.ts:api',
  name: 'shop',
  reload: 'true',
  pid: '/run/troupe.pid',
  control: '/run/troupe/shop.sock',
  admin: '9100',
  adminToken: 's3cret',
  logLevel: 'warn',
  logFormat: 'json',
  accessLog: '/var/log/shop/access.log',
  accessLogFormat: '%(h)s "%(r)s" %(s)s %(M)s',
  upgradeTimeout: '120',
  bind: '[::1]:8080',
  certfile: 'tls/cert.pem',
  keyfile: 'tls/key.pem',
  caCerts: 'tls/ca.pem',
  tlsMinVersion: 'TLSv1.3',
  ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
  http2: 'false',
  http2Cleartext: 'prior-knowledge',
  http2MaxConcurrentStreams: '16',
  uwsgi: 'unix:/run/app-uwsgi.sock',
  uwsgiBufferSize: '8192',
  proxyProtocol: '0.0.0.0:8000',
  proxyAllowFrom: '10.0.0.0/8,fd00::/8',
  forwardedAllowIps: '127.0.0.1,unix',
  socketMode: '600',
  backlog: '64',
  strategy: 'reuseport',
  acceptQueue: '10',
  workers: '2',
  placement: 'process',
  spareProcess: 'false',
  kind: 'thread-pool',
  threads: '2',
  threadQueue: '8',
  connections: '10',
  maxQueueDelay: '5',
  timeout: '1.5',
  gracefulTimeout: '2',
  maxRequests: '100',
  maxRequestsJitter: '10',
  minLifetime: '3',
  memory: '256',
  memorySoft: '128',
  keepAlive: '2',
  headersTimeout: '4',
  maxHeaderSize: '2048',
  maxHeaders: '20',
  maxBodySize: '0',
}
const text = (key: ConfigKey) => good[key]

/** A refused value of each option, and a phrase its refusal must contain. */
const bad: Record<ConfigKey, [unknown, string]> = {
  app: ['', 'a path to the app module'],
  name: ['', 'a non-empty name'],
  reload: ['maybe', 'true or false'],
  pid: ['', 'a file path'],
  control: ['', "a socket path, or 'none'"],
  admin: ['127.0.0.1', 'HOST:PORT, [V6]:PORT, unix:PATH'],
  adminToken: ['', 'a non-empty token'],
  logLevel: ['verbose', 'one of debug, info, warn, error, silent'],
  logFormat: ['yaml', 'one of auto, text, json'],
  accessLog: ['', "a file path, or '-' for stdout"],
  accessLogFormat: ['%(z)s', 'common, combined, json, or a template'],
  upgradeTimeout: ['0', 'a number of seconds > 0'],
  bind: ['127.0.0.1', 'HOST:PORT'],
  certfile: ['', 'a file path'],
  keyfile: ['', 'a file path'],
  caCerts: ['', 'a file path'],
  tlsMinVersion: ['SSLv3', 'one of TLSv1.2, TLSv1.3'],
  ciphers: ['', 'an OpenSSL cipher list'],
  http2: ['maybe', 'true or false (1/0, yes/no)'],
  http2Cleartext: ['h2c', 'one of off, prior-knowledge'],
  http2MaxConcurrentStreams: ['0', 'an integer >= 1'],
  uwsgi: ['https://0.0.0.0:3031', 'HOST:PORT (port 0-65535), [V6]:PORT or unix:PATH, none, one or a list'],
  uwsgiBufferSize: ['100', 'an integer >= 256'],
  proxyProtocol: [',', 'listener addresses as given to bind or uwsgi, comma-separated'],
  proxyAllowFrom: [
    '10.0.0.0/33',
    'IP addresses or CIDR networks (10.0.0.0/8, fd00::/8), unix, or *, comma-separated',
  ],
  forwardedAllowIps: [
    'localhost',
    'IP addresses or CIDR networks (10.0.0.0/8, fd00::/8), unix, or *, comma-separated',
  ],
  socketMode: ['999', 'a file mode'],
  backlog: ['0', 'an integer >= 1'],
  strategy: ['fastest', 'one of handoff, reuseport'],
  acceptQueue: ['-1', 'an integer >= 0'],
  workers: ['lots', 'an integer >= 1'],
  placement: ['moon', 'one of thread, process'],
  spareProcess: ['maybe', 'true or false'],
  kind: ['fibers', 'one of coroutine, thread-pool'],
  threads: ['0', 'an integer >= 1'],
  threadQueue: ['-1', 'an integer >= 0'],
  connections: ['1.5', 'an integer >= 1'],
  maxQueueDelay: ['-1', 'an integer >= 0'],
  timeout: ['0', 'a number of seconds > 0'],
  gracefulTimeout: ['-1', 'a number of seconds > 0'],
  maxRequests: ['x', 'an integer >= 0'],
  maxRequestsJitter: ['-1', 'an integer >= 0'],
  minLifetime: ['soon', 'an integer >= 0'],
  memory: ['1e9.5', 'an integer >= 0 (MB'],
  memorySoft: ['-5', 'an integer >= 0 (MB'],
  keepAlive: ['forever', 'a number of seconds > 0'],
  headersTimeout: ['0', 'a number of seconds > 0'],
  maxHeaderSize: ['100', 'an integer >= 1024'],
  maxHeaders: ['0', 'an integer >= 1'],
  maxBodySize: ['-1', 'an integer >= 0'],
}

describe('refusals name the option, the source and what was expected', () => {
  it.each(configKeys)('%s', (key) => {
    const [value, expected] = bad[key]
    const got = JSON.stringify(value)
    const layers: [Layers, string][] = [
      [{ file: { path: 'my.config.ts', values: { [key]: value } } }, 'file my.config.ts'],
      [{ env: { [envName(key)]: String(value) } }, `env ${envName(key)}`],
      [{ flags: { [key]: value } }, `flag --${flagName(key)}`],
    ]
    for (const [layer, source] of layers) {
      const message = refusal(layer)
      expect(message).toMatch(new RegExp(`^${key} must be `))
      expect(message).toContain(expected)
      expect(message).toContain(`got ${got} from ${source}`)
      expect(message.split('\n')).toHaveLength(1)
    }
    // The good value of the same option passes from every layer.
    expect(() => resolveConfig({ flags: { maxRequests: '9', [key]: good[key] } })).not.toThrow()
  })

  it("binds: the listeners' own parser decides, from every source", () => {
    expect(refusal({ env: { PORT: 'abc' } })).toBe(
      'bind must be a port number 0-65535 (got "abc" from env PORT)',
    )
    expect(refusal({ env: { PORT: '99999' } })).toContain('from env PORT')
    expect(refusal({ flags: { bind: ['127.0.0.1:8000', '127.0.0.1:99999'] } })).toContain(
      'got ["127.0.0.1:8000","127.0.0.1:99999"] from flag --bind',
    )
    expect(refusal({ env: { TROUPE_BIND: 'unix:' } })).toContain('from env TROUPE_BIND')
    expect(refusal({ file: { path: 'f.ts', values: { bind: [] } } })).toContain('got [] from file f.ts')
    expect(resolveConfig({ env: { TROUPE_BIND: '127.0.0.1:0, unix:/tmp/x.sock, :80' } }).config.bind).toEqual(
      ['127.0.0.1:0', 'unix:/tmp/x.sock', ':80'],
    )
  })

  it('actors come from the file only, and each entry is checked', () => {
    expect(refusal({ file: { path: 'x.ts', values: { actors: [{ nope: 1 }] } } })).toContain(
      'got a list where actors[0] is not one from file x.ts',
    )
    expect(refusal({ file: { path: 'x.ts', values: { actors: 'visits' } } })).toContain('got a string')
  })

  it('an unknown key in the file names it and lists the known ones', () => {
    expect(refusal({ file: { path: 'x.ts', values: { wrokers: 2 } } })).toMatch(
      /^wrokers is not a troupe option \(in x\.ts\); known: app, name, .*workers/,
    )
  })

  it('maxRequestsJitter without maxRequests names where the jitter came from', () => {
    expect(refusal({ env: { TROUPE_MAX_REQUESTS_JITTER: '5' } })).toBe(
      'maxRequestsJitter needs maxRequests > 0 (from env TROUPE_MAX_REQUESTS_JITTER)',
    )
  })
})

describe('switches on the command line', () => {
  it('--no-FLAG turns a switch off; only switches have the form', () => {
    expect(parseCommandLine(['serve', 'app.ts', '--no-http2']).flags.http2).toBe(false)
    expect(parseCommandLine(['serve', 'app.ts', '--http2']).flags.http2).toBe(true)
    expect(
      resolveConfig({ flags: parseCommandLine(['serve', 'app.ts', '--no-http2']).flags }).config.http2,
    ).toBe(false)
    expect(() => parseCommandLine(['serve', 'app.ts', '--no-bind'])).toThrow(
      new UsageError('option "--no-bind": only on/off options have a --no- form'),
    )
  })
})

describe('warnings', () => {
  it('kind "threads" is read as thread-pool, with TROUPE_W_KIND_RENAMED naming the source', () => {
    const { config, warnings } = resolveConfig({ env: { TROUPE_KIND: 'threads' } })
    expect(config.kind).toBe('thread-pool')
    expect(warnings).toEqual([
      'warning: kind "threads" (from env TROUPE_KIND) is the old name of "thread-pool"; read as thread-pool [TROUPE_W_KIND_RENAMED]',
    ])
  })

  it('a setting that does not apply to the placement, kind or strategy in force is flagged', () => {
    const { warnings } = resolveConfig({
      file: { path: 'c.ts', values: { memorySoft: 100, threads: 8 } },
      flags: { threadQueue: '4', strategy: 'reuseport', acceptQueue: '5' },
    })
    expect(warnings).toEqual([
      'warning: acceptQueue (from flag --accept-queue) has no effect with strategy reuseport (from flag --strategy); it applies to strategy handoff [TROUPE_W_OPTION_NOT_APPLICABLE]',
      'warning: threads (from file c.ts) has no effect with kind coroutine (from default); it applies to kind thread-pool [TROUPE_W_OPTION_NOT_APPLICABLE]',
      'warning: threadQueue (from flag --thread-queue) has no effect with kind coroutine (from default); it applies to kind thread-pool [TROUPE_W_OPTION_NOT_APPLICABLE]',
      'warning: memorySoft (from file c.ts) has no effect with placement thread (from default); it applies to placement process [TROUPE_W_OPTION_NOT_APPLICABLE]',
    ])
  })

  it('no warning where the setting applies, or where it is only the default', () => {
    expect(
      resolveConfig({
        flags: {
          placement: 'process',
          memorySoft: '100',
          kind: 'thread-pool',
          threads: '8',
          threadQueue: '4',
        },
      }).warnings,
    ).toEqual([])
    expect(resolveConfig({ flags: { strategy: 'reuseport' } }).warnings).toEqual([])
  })
})

describe('docs derived from the table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.split('<!-- option-table:start -->')[1]?.split('<!-- option-table:end -->')[0] ?? ''
  // Cells split on unescaped pipes (a flag's metavar may hold `thread\|process`); code marks dropped.
  const documented = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim().replaceAll('\\|', '|').replaceAll('`', '')),
    )
    .map(([key, flag, env, defaults, appliesTo, description]) => ({
      key,
      flag,
      env,
      default: defaults,
      appliesTo,
      description,
    }))

  it("the README's options table lists every option with its flag, variables, default, scope and meaning", () => {
    expect(documented.length).toBeGreaterThan(20)
    expect(documented).toEqual(optionRows())
  })

  it('serve --help lists every flag with its default', () => {
    const help = commandHelp('serve')
    for (const key of configKeys)
      expect(help).toMatch(new RegExp(`^ {2}--(\\[no-\\])?${flagName(key)}\\b`, 'm'))
    // A switch that is on by default shows how to turn it off.
    expect(help).toMatch(/^ {2}--\[no-\]http2 /m)
    expect(help).toContain('(default 30 s)')
    expect(help).toContain('only with placement process')
    expect(help).not.toContain('threads|')
  })
})

describe('types derived from the table', () => {
  it('defineConfig keeps literal unions and each value type', () => {
    const config = defineConfig({
      placement: 'process',
      kind: 'thread-pool',
      bind: ['127.0.0.1:0'],
      socketMode: '600',
    })
    expect(config.placement).toBe('process')
    expectTypeOf<TroupeConfig['placement']>().toEqualTypeOf<'thread' | 'process' | undefined>()
    expectTypeOf<TroupeConfig['kind']>().toEqualTypeOf<'coroutine' | 'thread-pool' | undefined>()
    expectTypeOf<TroupeConfig['bind']>().toEqualTypeOf<string | readonly string[] | undefined>()
    expectTypeOf<ResolvedConfig['bind']>().toEqualTypeOf<readonly string[]>()
    expectTypeOf<ResolvedConfig['strategy']>().toEqualTypeOf<'handoff' | 'reuseport'>()
    expectTypeOf<ResolvedConfig['workers']>().toEqualTypeOf<number>()
    expectTypeOf<ResolvedConfig['name']>().toEqualTypeOf<string | null>()
    // @ts-expect-error: not a placement
    defineConfig({ placement: 'moon' })
    // @ts-expect-error: not an option
    defineConfig({ wrokers: 2 })
    // @ts-expect-error: a number of workers, not text
    defineConfig({ workers: 'two' })
  })
})

describe('app references (PATH:EXPORT)', () => {
  it.each([
    ['app.ts', { module: 'app.ts', exportName: 'default' }],
    ['/srv/app.ts:api', { module: '/srv/app.ts', exportName: 'api' }],
    ['./apps/shop.mjs:$app_1', { module: './apps/shop.mjs', exportName: '$app_1' }],
    ['file:///srv/app.ts', { module: 'file:///srv/app.ts', exportName: 'default' }],
    ['file:///srv/app.ts:api?generation=2', { module: 'file:///srv/app.ts?generation=2', exportName: 'api' }],
    ['file:///srv/app.ts?generation=2#api', { module: 'file:///srv/app.ts?generation=2', exportName: 'api' }],
    ['C:\\srv\\app.ts', { module: 'C:\\srv\\app.ts', exportName: 'default' }],
  ])('%s', (ref, expected) => {
    expect(parseAppRef(ref)).toEqual(expected)
  })
})
