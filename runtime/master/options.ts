/**
 * The option table: every setting of `troupe serve` declared once — its value type (which
 * validates it), default and unit, where it applies, and what it means. Everything else is
 * derived from it: the config types and `defineConfig` (config.ts), the defaults, the
 * validation and precedence (config.ts), `--help` (help.ts), `troupe check`'s listing, and the
 * README's options table (spec/config.test.ts keeps it in step).
 *
 * A key `fooBar` has the flag `--foo-bar`, the environment variable `TROUPE_FOO_BAR` and the
 * config file key `fooBar`.
 */
import type { AppActor } from '../../apps/app.ts'
import {
  accessLogFormat,
  adminAddress,
  binds,
  fileMode,
  integer,
  listenerNames,
  listOf,
  type OptionType,
  oneOf,
  onOff,
  optionalText,
  seconds,
  text,
  trustList,
  uwsgiAddresses,
} from './option-types.ts'

export const placements = ['thread', 'process'] as const
export const kinds = ['coroutine', 'thread-pool'] as const
export const strategies = ['handoff', 'reuseport'] as const
export const tlsVersions = ['TLSv1.2', 'TLSv1.3'] as const
export const cleartextModes = ['off', 'prior-knowledge'] as const
export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const
export const logFormats = ['auto', 'text', 'json'] as const

/** The settings an option may depend on: it has no effect unless each listed one has that value. */
export interface AppliesTo {
  readonly placement?: (typeof placements)[number]
  readonly kind?: (typeof kinds)[number]
  readonly strategy?: (typeof strategies)[number]
}

/** An environment variable that sets an option under another name (`PORT`, `WEB_CONCURRENCY`). */
export interface EnvAlias {
  readonly name: string
  /** The option's value for the variable's text. */
  readonly read: (text: string) => unknown
  /** What the variable's text must be. */
  readonly expected: string
}

export interface OptionSpec<T, I = T> {
  readonly type: OptionType<T, I>
  readonly default: T
  readonly unit?: 's' | 'ms' | 'MB' | 'bytes'
  /** Where it shows in help. */
  readonly group: 'app' | 'listen' | 'workers' | 'lifecycle' | 'http' | 'operate'
  readonly description: string
  readonly appliesTo?: AppliesTo
  /** Read before `TROUPE_*`, which beats it. */
  readonly envAliases?: readonly EnvAlias[]
  /** A file path: in a config file relative to the file, elsewhere to the working directory. */
  readonly path?: true
  /** Only a config file can set it (no flag, no environment variable). */
  readonly fileOnly?: boolean
  /** Never printed (`troupe check`, stats): a credential. */
  readonly secret?: true
}

// The default must not steer inference: the type says what T is (a literal union stays one).
// `fileOnly` stays a literal so the types can tell the flag-less options apart.
const option = <const T, I, const F extends boolean = false>(
  spec: OptionSpec<T, I> & { readonly default: NoInfer<T>; readonly fileOnly?: F },
): OptionSpec<T, I> & { readonly fileOnly?: F } => spec

const isActorDefinition = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { name?: unknown }).name === 'string' &&
  typeof (value as { behaviour?: unknown }).behaviour === 'object'
const isAppActor = (entry: unknown): boolean =>
  isActorDefinition(entry) || isActorDefinition((entry as { actor?: unknown } | null)?.actor)

export const optionTable = {
  app: option({
    group: 'app',
    type: text('a path to the app module, optionally PATH:EXPORT', 'APP'),
    default: './app.ts',
    path: true,
    description:
      'the app module: PATH, or PATH:EXPORT to serve a named export instead of the default one; in a config file, relative to the file',
  }),
  name: option({
    group: 'app',
    type: optionalText('a non-empty name', 'NAME'),
    default: null,
    description: 'names this server in ps (troupe: master NAME, troupe: worker w1 NAME) and in its log lines',
  }),
  reload: option({
    group: 'app',
    type: onOff,
    default: false,
    description:
      "development: watch the app's directory and reload on every change (node_modules and dotfiles ignored)",
  }),
  pid: option({
    group: 'app',
    type: optionalText('a file path', 'FILE'),
    default: null,
    path: true,
    description: "write the master's pid to FILE; removed on exit",
  }),
  control: option({
    group: 'operate',
    type: optionalText("a socket path, or 'none'", 'PATH'),
    default: null,
    description:
      "the control socket that troupe tree, scale, reload… talk to (mode 0600): default $XDG_RUNTIME_DIR/troupe/NAME.sock (else the temp dir's troupe-UID/); 'none' disables it",
  }),
  admin: option({
    group: 'operate',
    type: adminAddress,
    default: null,
    description:
      'the admin HTTP listener: the live dashboard at /, /metrics (Prometheus), /livez, /readyz; HOST:PORT, [V6]:PORT, unix:PATH, or a PORT on 127.0.0.1',
  }),
  adminToken: option({
    group: 'operate',
    type: optionalText('a non-empty token', 'TOKEN'),
    default: null,
    secret: true,
    description:
      "the admin listener answers the dashboard and /metrics only with the token (Authorization: Bearer TOKEN, or Basic with the token as password); the probes stay open. The dashboard's actions (reload, scale, kill, restart) need it",
  }),
  logLevel: option({
    group: 'operate',
    type: oneOf(logLevels),
    default: 'info',
    description: "the least severe log lines written, the master's and the workers' (silent: none)",
  }),
  logFormat: option({
    group: 'operate',
    type: oneOf(logFormats),
    default: 'auto',
    description:
      'log lines on stderr: text (readable lines), json (one JSON record a line) or auto (text when stderr is a terminal, else json)',
  }),
  accessLog: option({
    group: 'operate',
    type: optionalText("a file path, or '-' for stdout", 'PATH'),
    default: null,
    path: true,
    description: "one line per response, appended by each worker itself to PATH ('-': stdout)",
  }),
  accessLogFormat: option({
    group: 'operate',
    type: accessLogFormat,
    default: 'common',
    description: 'access log lines: common, combined, json, or a template of %(h)s %(r)s %(s)s… fields',
  }),
  upgradeTimeout: option({
    group: 'operate',
    type: seconds,
    default: 60,
    unit: 's',
    description:
      'time a new master started by USR2 has to serve; past it, it is killed and the old master keeps serving',
  }),
  bind: option({
    group: 'listen',
    type: binds,
    default: ['127.0.0.1:8000'],
    description:
      'where to listen: HOST:PORT, [V6]:PORT, https://HOST:PORT (TLS: certfile, keyfile) or unix:PATH; repeat for several (env PORT: 0.0.0.0:PORT)',
    envAliases: [{ name: 'PORT', read: (port) => `0.0.0.0:${port}`, expected: 'a port number 0-65535' }],
  }),
  uwsgi: option({
    group: 'listen',
    type: uwsgiAddresses,
    default: [],
    description:
      "where to speak the uwsgi protocol (nginx's uwsgi_pass) beside the HTTP binds: HOST:PORT, [V6]:PORT or unix:PATH; repeat for several",
  }),
  uwsgiBufferSize: option({
    group: 'listen',
    type: integer(256, 'bytes'),
    default: 65_535,
    unit: 'bytes',
    description:
      "largest uwsgi vars block (the request's head; the protocol's own limit is 65535); past it, the connection is refused and closed; maxHeaders + 64 bounds the number of vars",
  }),
  proxyProtocol: option({
    group: 'listen',
    type: listenerNames,
    default: [],
    description:
      'listeners (as given to bind or uwsgi, TCP only) whose connections open with a PROXY protocol header (v1 or v2) from a load balancer in proxyAllowFrom; repeat for several',
  }),
  proxyAllowFrom: option({
    group: 'listen',
    type: trustList,
    default: ['127.0.0.1', '::1'],
    description:
      'who may send a PROXY protocol header: addresses or CIDR networks, or *; a connection from anywhere else is refused',
  }),
  forwardedAllowIps: option({
    group: 'listen',
    type: trustList,
    default: ['127.0.0.1', '::1'],
    description:
      "proxies whose X-Forwarded-For/-Proto/-Host and Forwarded headers set the client's address and scheme (gunicorn's forwarded_allow_ips); addresses or CIDRs, unix, or *; loopback includes Unix-socket peers",
  }),
  certfile: option({
    group: 'listen',
    type: optionalText('a file path', 'FILE'),
    default: null,
    description:
      'the certificate chain (PEM) https:// binds present; each worker reads it as it starts, so a reload (HUP) serves renewed files',
  }),
  keyfile: option({
    group: 'listen',
    type: optionalText('a file path', 'FILE'),
    default: null,
    description: "the private key (PEM) of certfile's certificate",
  }),
  caCerts: option({
    group: 'listen',
    type: optionalText('a file path', 'FILE'),
    default: null,
    description:
      'CA certificates (PEM): https:// binds then require a client certificate signed by one of them (mutual TLS)',
  }),
  tlsMinVersion: option({
    group: 'listen',
    type: oneOf(tlsVersions),
    default: 'TLSv1.2',
    description: 'the oldest TLS version https:// binds accept',
  }),
  ciphers: option({
    group: 'listen',
    type: optionalText('an OpenSSL cipher list', 'LIST'),
    default: null,
    description: "TLS 1.2 cipher suites https:// binds offer (OpenSSL's list format); default: Node's",
  }),
  http2: option({
    group: 'listen',
    type: onOff,
    default: true,
    description:
      'https:// binds offer HTTP/2 in the TLS handshake (ALPN h2, with http/1.1 for clients that do not speak it); --no-http2: HTTP/1.1 only',
  }),
  http2Cleartext: option({
    group: 'listen',
    type: oneOf(cleartextModes),
    default: 'off',
    description:
      'plain binds: prior-knowledge also serves HTTP/2 without TLS (h2c) to a client that opens with the HTTP/2 preface, beside HTTP/1.1; for a proxy in front (nginx grpc_pass, envoy), never the open internet',
  }),
  http2MaxConcurrentStreams: option({
    group: 'listen',
    type: integer(1),
    default: 100,
    description:
      'HTTP/2 streams (requests) one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); maxHeaderSize and maxHeaders bound an HTTP/2 header list too',
  }),
  socketMode: option({
    group: 'listen',
    type: fileMode,
    default: 0o660,
    description: 'file mode of unix: socket files',
  }),
  backlog: option({
    group: 'listen',
    type: integer(1),
    default: 2_048,
    description: 'listen backlog: connections the kernel queues before accepting',
  }),
  strategy: option({
    group: 'listen',
    type: oneOf(strategies),
    default: 'handoff',
    description:
      'how connections reach workers: handoff (the master owns the sockets, ready workers accept on them, the master accepts and hands over only while none is ready) or reuseport (every worker binds its own, SO_REUSEPORT)',
  }),
  acceptQueue: option({
    group: 'listen',
    type: integer(0),
    default: 1_024,
    description: 'connections that wait in the master while no worker is ready; past it, 503',
    appliesTo: { strategy: 'handoff' },
  }),
  workers: option({
    group: 'workers',
    type: integer(1),
    default: 1,
    description: 'number of workers (env WEB_CONCURRENCY too)',
    envAliases: [{ name: 'WEB_CONCURRENCY', read: (n) => n, expected: 'an integer >= 1' }],
  }),
  placement: option({
    group: 'workers',
    type: oneOf(placements),
    default: 'thread',
    description: 'where workers run: thread (worker_threads) or process (child processes)',
  }),
  spareProcess: option({
    group: 'workers',
    type: onOff,
    default: true,
    description:
      'keep one booted process waiting, so a process worker that dies is replaced without waiting for Node to start',
    appliesTo: { placement: 'process' },
  }),
  kind: option({
    group: 'workers',
    // `threads` was the thread-pool kind's first name; it read like a typo beside `--placement thread`.
    type: oneOf(kinds, { threads: { to: 'thread-pool', warning: 'TROUPE_W_KIND_RENAMED' } }),
    default: 'coroutine',
    description:
      'how a worker runs requests: coroutine (on its own event loop) or thread-pool (each on a pool thread, for blocking handlers)',
  }),
  threads: option({
    group: 'workers',
    type: integer(1),
    default: 4,
    description: 'pool threads per worker',
    appliesTo: { kind: 'thread-pool' },
  }),
  threadQueue: option({
    group: 'workers',
    type: integer(0, '0: 16 × threads'),
    default: 0,
    description: 'requests that may wait for a pool thread; past it, 503 (0: 16 × threads)',
    appliesTo: { kind: 'thread-pool' },
  }),
  connections: option({
    group: 'workers',
    type: integer(1),
    default: 1_000,
    description: 'requests one worker serves at once; past it, 503 with Retry-After',
  }),
  maxQueueDelay: option({
    group: 'workers',
    type: integer(0, 'ms; 0: never shed'),
    // Off by default: a closed-loop client (wrk -c100, a proxy's connection pool) keeps a queue
    // standing that it bounds itself, and would read 503s where it expects slow answers.
    default: 0,
    unit: 'ms',
    description:
      'shed with 503 + Retry-After once requests have queued in a worker longer than this, turn after turn for 50 ms (0: never)',
  }),
  timeout: option({
    group: 'lifecycle',
    type: seconds,
    default: 30,
    unit: 's',
    description: 'a request past it gets 504; a worker silent this long is killed and replaced',
  }),
  gracefulTimeout: option({
    group: 'lifecycle',
    type: seconds,
    default: 30,
    unit: 's',
    description: 'time a stopping or reloading worker has to finish its requests',
  }),
  maxRequests: option({
    group: 'lifecycle',
    type: integer(0, '0: never recycle'),
    default: 0,
    description: 'recycle a worker after this many requests (0: never)',
  }),
  maxRequestsJitter: option({
    group: 'lifecycle',
    type: integer(0),
    default: 0,
    description: "adds 0..N to each worker's maxRequests, so workers do not recycle together",
  }),
  minLifetime: option({
    group: 'lifecycle',
    type: integer(0, 'seconds'),
    default: 0,
    unit: 's',
    description: 'a worker lives at least this long before it may be recycled',
  }),
  memory: option({
    group: 'lifecycle',
    type: integer(0, 'MB; 0: no limit'),
    default: 0,
    unit: 'MB',
    description:
      'thread placement: V8 heap limit (resourceLimits); process placement: RSS hard limit, the worker is killed (0: no limit)',
  }),
  memorySoft: option({
    group: 'lifecycle',
    type: integer(0, 'MB; 0: no limit'),
    default: 0,
    unit: 'MB',
    description: 'RSS soft limit: the worker is recycled gracefully (0: no limit)',
    appliesTo: { placement: 'process' },
  }),
  keepAlive: option({
    group: 'http',
    type: seconds,
    default: 5,
    unit: 's',
    description: 'how long an idle keep-alive connection stays open',
  }),
  headersTimeout: option({
    group: 'http',
    type: seconds,
    // 20 s, not node's 60: a slowloris client is cut off before gunicorn (30 s) or nginx (60 s)
    // would, while a phone on a poor link still sends its request head within a few round trips.
    default: 20,
    unit: 's',
    description: 'time a client has to send the request head; past it, 408',
  }),
  maxHeaderSize: option({
    group: 'http',
    type: integer(1024, 'bytes'),
    default: 16_384,
    unit: 'bytes',
    description: 'largest request head; past it, 431',
  }),
  maxHeaders: option({
    group: 'http',
    type: integer(1),
    default: 100,
    description: 'most header fields in a request; past it, 431',
  }),
  maxBodySize: option({
    group: 'http',
    type: integer(0, 'bytes'),
    default: 10 * 1024 * 1024,
    unit: 'bytes',
    description: 'largest request body (10 MiB); past it, 413',
  }),
  actors: option({
    group: 'app',
    type: listOf<AppActor>(isAppActor, 'a list of defineActor(...) definitions or { actor, options }'),
    default: [],
    description:
      'app actors registered by the config rather than the app: definitions, or { actor, options } with their placement and supervision',
    fileOnly: true,
  }),
} as const

export type OptionTable = typeof optionTable
export type OptionKey = keyof OptionTable
