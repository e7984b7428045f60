/**
 * deploy/ held to itself: the Dockerfile, the Kubernetes manifests, and the config they run,
 * resolved the way `troupe serve` resolves it inside the container (the container's arguments
 * through parseCommandLine, its environment — Downward API values computed from its resources —
 * and deploy/troupe.config.ts through resolveLayers). `deployProblems` lists every
 * inconsistency in words an operator would act on; none means the files agree.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { parseAppRef } from '../../apps/app-ref.ts'
import { parseCommandLine } from '../../runtime/master/cli-args.ts'
import type { ResolvedConfig } from '../../runtime/master/config.ts'
import { resolveLayers } from '../../runtime/master/config-file.ts'
import { type BindAddress, parseBind } from '../../transports/http/listen.ts'
import { allOf, imageStage, lastOf, parseDockerfile, type Stage } from './dockerfile.ts'
import { repoRoot } from './readme.ts'

const kubernetesDir = path.join(repoRoot, 'deploy', 'kubernetes')

/** Seconds the kubelet's grace period must leave after the drain: the master's own exit. */
const STOP_MARGIN_S = 5
/** Where the image's WORKDIR stands in this repository: the checks read its files from here. */
const IMAGE_WORKDIR = '/app'

export interface Manifest {
  readonly file: string
  readonly doc: Json
}

/** What deploy/ holds: the Dockerfile's text and every manifest, parsed (mutable: tests change copies). */
export interface DeployFiles {
  dockerfile: string
  manifests: Manifest[]
}

type Json = Record<string, unknown>
const obj = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {}
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])

/** Every document of every `.yaml` file in deploy/kubernetes/, parsed; a YAML error throws. */
export const readDeployFiles = (): DeployFiles => {
  const manifests = readdirSync(kubernetesDir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort()
    .flatMap((name) =>
      parseAllDocuments(readFileSync(path.join(kubernetesDir, name), 'utf8')).map((document) => {
        if (document.errors.length > 0) throw new Error(`${name}: ${document.errors[0]!.message}`)
        return { file: name, doc: obj(document.toJS()) }
      }),
    )
  return { dockerfile: readFileSync(path.join(repoRoot, 'deploy', 'Dockerfile'), 'utf8'), manifests }
}

/** A copy the tests may change without touching the files' parse. */
export const copyDeployFiles = (files: DeployFiles): DeployFiles => structuredClone(files)

/** Every manifest of `kind`. */
export const manifestsOf = (files: DeployFiles, kind: string): Json[] =>
  files.manifests.filter((manifest) => manifest.doc.kind === kind).map((manifest) => manifest.doc)

/** The Deployment's pod template and its troupe container (the first). */
export const podOf = (files: DeployFiles) => {
  const deployment = manifestsOf(files, 'Deployment')[0] ?? {}
  const template = obj(obj(deployment.spec).template)
  const spec = obj(template.spec)
  return { deployment, template, spec, container: obj(list(spec.containers)[0]) }
}

const binarySuffixes: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }
const decimalSuffixes: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }

/** A Kubernetes quantity (`2`, `500m`, `1Gi`, `512M`) as a number of units (cores, bytes). */
const quantity = (value: unknown): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(String(value ?? ''))
  if (!match) return undefined
  const factor = binarySuffixes[match[2]!] ?? decimalSuffixes[match[2]!]
  return factor === undefined ? undefined : Number(match[1]) * factor
}

/** What a resourceFieldRef reads (`limits.memory`, `requests.cpu`) from the container's resources. */
const resourceField = (container: Json, ref: Json): number | string => {
  const resource = String(ref.resource ?? '')
  const [kind, name] = resource.split('.')
  const resources = obj(container.resources)
  // An unset request defaults to the limit; with neither, the kubelet reads the node's capacity.
  const raw =
    kind === 'requests'
      ? (obj(resources.requests)[name!] ?? obj(resources.limits)[name!])
      : obj(resources.limits)[name!]
  const value = quantity(raw)
  const divisor = quantity(ref.divisor ?? '1')
  if (value === undefined || !divisor)
    return `${resource} is not set on the container: the kubelet would read the node's capacity`
  return Math.ceil(value / divisor)
}

/** The image's ENV as a map (`ENV A=b C=d` and the old `ENV A b` form). */
const imageEnv = (stage: Stage): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const { text } of allOf(stage, 'ENV')) {
    const pairs = [...text.matchAll(/(\w+)=("[^"]*"|\S*)/g)]
    if (pairs.length === 0) {
      const [key, ...value] = text.split(/\s+/)
      env[key!] = value.join(' ')
    }
    for (const [, key, value] of pairs) env[key!] = value!.replace(/^"|"$/g, '')
  }
  return env
}

/** The container's environment: the image's ENV, then its own entries (Downward API values computed). */
const containerEnv = (stage: Stage, container: Json, say: (problem: string) => void) => {
  const env = imageEnv(stage)
  for (const entry of list(container.env).map(obj)) {
    const name = String(entry.name)
    if ('value' in entry) env[name] = String(entry.value)
    const from = obj(entry.valueFrom)
    if (from.resourceFieldRef) {
      const value = resourceField(container, obj(from.resourceFieldRef))
      if (typeof value === 'string') say(`env ${name}: ${value}`)
      else env[name] = String(value)
    }
    // A secret's value is unknown here; what matters is that it is set.
    else if (from.secretKeyRef)
      env[name] = `secret ${obj(from.secretKeyRef).name}/${obj(from.secretKeyRef).key}`
    else if (entry.valueFrom) say(`env ${name}: this check cannot compute ${Object.keys(from).join(', ')}`)
  }
  return env
}

/** Keys the config file or troupe's resolution read from the environment. */
const readsEnv = (key: string) =>
  key === 'WEB_CONCURRENCY' || key === 'MEMORY_LIMIT_MB' || key === 'PORT' || key.startsWith('TROUPE_')

/**
 * Runs `fn` as inside the container: the working directory is the repository's root (the
 * image's WORKDIR) and process.env holds the container's values for what troupe and the
 * config file read. Both are put back afterwards.
 */
export const asInContainer = async <T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> => {
  const saved = { ...process.env }
  const cwd = process.cwd()
  for (const key of Object.keys(process.env)) if (readsEnv(key)) delete process.env[key]
  Object.assign(process.env, env)
  process.chdir(repoRoot)
  try {
    return await fn()
  } finally {
    process.chdir(cwd)
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
    Object.assign(process.env, saved)
  }
}

const binPath = (): string => {
  const { bin } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    bin: Record<string, string>
  }
  return path.posix.normalize(bin.troupe!)
}

export interface Served {
  readonly config: ResolvedConfig
  /** The admin listener's address, once troupe has the option (null: none configured). */
  readonly admin: string | null | undefined
  /** deploy/troupe.config.ts's MASTER_MB, as the container would read it. */
  readonly masterMb: number
}

/** The config file's named exports, imported afresh in the container's environment. */
const configExports = async (file: string): Promise<{ readonly MASTER_MB?: unknown }> =>
  import(`${pathToFileURL(file).href}?exports=${Date.now()}`)

/**
 * Resolves the troupe config that `argv` (the container's whole command line) serves with
 * `env`, or says why it cannot.
 */
const resolveServed = async (
  where: string,
  argv: readonly string[],
  env: Record<string, string>,
  say: (problem: string) => void,
): Promise<Served | undefined> => {
  const bin = binPath()
  const at = argv.findIndex((arg) => path.posix.normalize(arg) === bin)
  if (at < 1 || path.posix.basename(argv[at - 1]!) !== 'node') {
    say(`${where} does not run troupe's bin (node ${bin}): ${JSON.stringify(argv)}`)
    return undefined
  }
  try {
    const parsed = parseCommandLine(argv.slice(at + 1))
    if (parsed.command !== 'serve') {
      say(`${where} runs troupe ${parsed.command ?? '(no command)'}, not troupe serve`)
      return undefined
    }
    return await asInContainer(env, async () => {
      const resolved = await resolveLayers(parsed, env)
      const { admin } = resolved.config as unknown as Readonly<Record<string, unknown>>
      const { MASTER_MB } = await configExports(path.resolve(parsed.config ?? 'troupe.config.ts'))
      if (typeof MASTER_MB !== 'number')
        say(`${parsed.config} does not export MASTER_MB, the master's memory`)
      return {
        config: resolved.config,
        admin: admin as string | null | undefined,
        masterMb: typeof MASTER_MB === 'number' ? MASTER_MB : 0,
      }
    })
  } catch (error) {
    say(`${where}: troupe would refuse to start: ${(error as Error).message}`)
    return undefined
  }
}

const tcpBinds = (binds: readonly string[]) =>
  binds
    .map((bind) => parseBind(bind))
    .filter((b): b is Extract<BindAddress, { kind: 'tcp' }> => b.kind === 'tcp')

/** Listening on every interface: what the pod's IP (probes, Service, Prometheus) needs. */
const everyInterface = (host: string) => host === '0.0.0.0' || host === '::' || host === ''

/** A container's port by number or name, as probes, Services and PodMonitors refer to it. */
const containerPort = (container: Json, ref: unknown): number | undefined => {
  const ports = list(container.ports).map(obj)
  const port =
    typeof ref === 'number' ? ports.find((p) => p.containerPort === ref) : ports.find((p) => p.name === ref)
  return typeof port?.containerPort === 'number' ? port.containerPort : undefined
}

const matches = (selector: unknown, labels: unknown) => {
  const wanted = Object.entries(obj(obj(selector).matchLabels ?? selector))
  return wanted.length > 0 && wanted.every(([key, value]) => obj(labels)[key] === value)
}

/** Seconds of the preStop hook's sleep: the native sleep action, or `sleep N` as a command. */
const preStopSleep = (container: Json): number | undefined => {
  const preStop = obj(obj(container.lifecycle).preStop)
  const seconds = obj(preStop.sleep).seconds
  if (typeof seconds === 'number') return seconds
  const command = list(obj(preStop.exec).command).map(String)
  const line =
    command.length > 1 && /(^|\/)(sh|bash)$/.test(command[0]!) ? command.at(-1)! : command.join(' ')
  const match = /^(?:\/bin\/|\/usr\/bin\/)?sleep (\d+(?:\.\d+)?)$/.exec(line.trim())
  return match ? Number(match[1]) : undefined
}

/** Where a file of the repository lands in the image, through the image stage's COPY lines. */
const copiedTo = (stage: Stage, relative: string): string | undefined => {
  let landed: string | undefined
  for (const { text } of allOf(stage, 'COPY')) {
    const words = text.split(/\s+/).filter((word) => !word.startsWith('--'))
    if (/--from=/.test(text) || words.length < 2) continue
    const dest = path.posix.normalize(words.at(-1)!.replace(new RegExp(`^${IMAGE_WORKDIR}/`), ''))
    for (const source of words.slice(0, -1).map((word) => path.posix.normalize(word))) {
      if (relative === source)
        landed = dest.endsWith('/') ? path.posix.join(dest, path.posix.basename(source)) : dest
      else if (relative.startsWith(`${source}/`))
        landed = path.posix.join(dest, relative.slice(source.length + 1))
    }
  }
  return landed
}

const checkImage = async (stage: Stage, stages: readonly Stage[], say: (problem: string) => void) => {
  const user = lastOf(stage, 'USER')?.text
  const uid = /^(\d+)(?::(\d+))?$/.exec(user ?? '')
  if (!uid || Number(uid[1]) === 0)
    say(`Dockerfile: USER is ${user ?? 'unset (root)'}: the image must run as a numeric non-root uid`)
  if (lastOf(stage, 'STOPSIGNAL')?.text !== 'SIGTERM')
    say('Dockerfile: STOPSIGNAL must be SIGTERM, troupe’s graceful stop')
  if (lastOf(stage, 'WORKDIR')?.text !== IMAGE_WORKDIR)
    say(
      `Dockerfile: WORKDIR must be ${IMAGE_WORKDIR} (the checks read the image's files from the repository)`,
    )
  const entrypoint = lastOf(stage, 'ENTRYPOINT')?.exec
  if (!entrypoint || path.posix.basename(entrypoint[0] ?? '') !== 'tini' || entrypoint[1] !== '--')
    say(
      `Dockerfile: ENTRYPOINT must start with tini -- in exec form (PID 1 must reap orphans): ${lastOf(stage, 'ENTRYPOINT')?.text}`,
    )
  if (!lastOf(stage, 'CMD')?.exec) say('Dockerfile: CMD must be in exec form')
  if (!allOf(stage, 'RUN').some(({ text }) => /\bnpm ci\b.*--omit=dev/.test(text)))
    say('Dockerfile: the image must install with npm ci --omit=dev')
  const distFrom = allOf(stage, 'COPY')
    .filter(({ text }) => /\/dist\s/.test(`${text} `))
    .map(({ text }) => /--from=(\S+)/.exec(text)?.[1])
    .find((from) => from !== undefined)
  const build = stages.slice(0, -1).find((s) => s.name === distFrom)
  if (!build) {
    say('Dockerfile: the image must copy dist/ from a build stage')
    return
  }
  // The build stage copies what it compiles folder by folder: a folder tsconfig.build.json
  // includes and the stage does not copy would fail the image's build only.
  const copied = new Set(
    allOf(build, 'COPY').flatMap(({ text }) =>
      text
        .split(/\s+/)
        .filter((word) => !word.startsWith('--'))
        .slice(0, -1)
        .map((word) => path.posix.normalize(word).split('/')[0]),
    ),
  )
  const { include } = JSON.parse(readFileSync(path.join(repoRoot, 'tsconfig.build.json'), 'utf8')) as {
    include: string[]
  }
  for (const folder of new Set(include.map((pattern) => pattern.split('/')[0]!)))
    if (!copied.has(folder))
      say(`Dockerfile: the ${build.name} stage does not copy ${folder}/, which tsconfig.build.json compiles`)
}

/** Every way deploy/ disagrees with itself; empty when it is consistent. */
export const deployProblems = async (files: DeployFiles): Promise<string[]> => {
  const problems: string[] = []
  const say = (problem: string) => problems.push(problem)
  const stages = parseDockerfile(files.dockerfile)
  const stage = imageStage(stages)
  await checkImage(stage, stages, say)
  const entrypoint = lastOf(stage, 'ENTRYPOINT')?.exec ?? []
  const cmd = lastOf(stage, 'CMD')?.exec ?? []

  // docker run: the image's ENTRYPOINT and CMD, its ENV — and one worker, since without
  // WEB_CONCURRENCY the count (and with it each worker's memory) would be this machine's.
  const dockerRun = await resolveServed(
    'the image (ENTRYPOINT + CMD)',
    [...entrypoint, ...cmd],
    { WEB_CONCURRENCY: '1', ...imageEnv(stage) },
    say,
  )
  if (dockerRun) {
    const exposed = allOf(stage, 'EXPOSE').flatMap(({ text }) =>
      text.split(/\s+/).map((p) => Number.parseInt(p, 10)),
    )
    const listening = [
      ...dockerRun.config.bind,
      ...(typeof dockerRun.admin === 'string' ? [dockerRun.admin] : []),
    ]
    const ports = tcpBinds(listening).map((b) => b.port)
    for (const port of ports)
      if (!exposed.includes(port)) say(`Dockerfile: EXPOSE lacks ${port}, a port the image's CMD listens on`)
    for (const [what, file] of [
      ['the config file', path.join('deploy', 'troupe.config.ts')],
      ['the app', path.relative(repoRoot, parseAppRef(dockerRun.config.app).module)],
    ] as const) {
      const landed = copiedTo(stage, file)
      if (landed !== file)
        say(
          `Dockerfile: ${what} (${file}) is ${landed ? `copied to ${landed}` : 'not copied'}, not to ${IMAGE_WORKDIR}/${file}`,
        )
    }
  }

  // Kubernetes: the Deployment's container, its Service and the metrics scrape.
  const deployments = manifestsOf(files, 'Deployment')
  if (deployments.length !== 1)
    say(`deploy/kubernetes/ holds ${deployments.length} Deployments; expected one`)
  const { deployment, template, spec, container } = podOf(files)
  const labels = obj(template.metadata).labels
  if (!matches(obj(deployment.spec).selector, labels))
    say("Deployment: its selector does not match its pod template's labels")
  // Kubernetes' rules: command replaces the ENTRYPOINT (and drops the CMD), args replace the CMD.
  const command = container.command ? list(container.command).map(String) : entrypoint
  const args = container.args ? list(container.args).map(String) : container.command ? [] : cmd
  const effective = [...command, ...args]
  if (container.workingDir !== undefined && container.workingDir !== IMAGE_WORKDIR)
    say(`Deployment: workingDir ${container.workingDir} is not the image's ${IMAGE_WORKDIR}`)
  const served = await resolveServed(
    'Deployment: the container',
    effective,
    containerEnv(stage, container, (p) => say(`Deployment: ${p}`)),
    say,
  )
  if (!served) return problems
  const { config, admin } = served

  for (const bind of tcpBinds(config.bind)) {
    if (!everyInterface(bind.host))
      say(`Deployment: troupe binds ${bind.host}:${bind.port}, which the pod's IP does not reach`)
    if (containerPort(container, bind.port) === undefined)
      say(`Deployment: no containerPort ${bind.port}, the bind port`)
  }
  const bindPorts = tcpBinds(config.bind).map((b) => b.port)

  let adminPort: number | undefined
  if (admin === undefined) say('troupe has no admin option: the probes and /metrics need the admin listener')
  else if (admin === null)
    say('Deployment: the container sets no --admin address: the probes have nothing to ask')
  else {
    const bound = parseBind(admin, 'admin')
    if (bound.kind !== 'tcp')
      say(`Deployment: the admin listener is ${admin}, which the kubelet cannot probe`)
    else {
      adminPort = bound.port
      if (!everyInterface(bound.host))
        say(`Deployment: the admin listener binds ${admin}, which the kubelet's probes do not reach`)
      if (containerPort(container, bound.port) === undefined)
        say(`Deployment: no containerPort ${bound.port}, the admin port`)
    }
  }

  for (const [probe, wanted] of [
    ['readinessProbe', '/readyz'],
    ['livenessProbe', '/livez'],
  ] as const) {
    const get = obj(obj(container[probe]).httpGet)
    if (get.path !== wanted) say(`Deployment: ${probe} asks ${String(get.path)}, not ${wanted}`)
    const port = containerPort(container, get.port)
    if (adminPort !== undefined && port !== adminPort)
      say(`Deployment: ${probe} asks port ${String(get.port)} (${port}), not the admin port ${adminPort}`)
  }

  // Stop timeline: preStop sleep, TERM, drain within gracefulTimeout, exit — before the SIGKILL.
  const preStop = preStopSleep(container)
  const grace =
    typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30
  if (preStop === undefined || preStop <= 0)
    say('Deployment: no preStop sleep: the pod would stop accepting before the Service stops sending')
  else if (grace < preStop + config.gracefulTimeout + STOP_MARGIN_S)
    say(
      `Deployment: terminationGracePeriodSeconds ${grace} < preStop ${preStop} + gracefulTimeout ${config.gracefulTimeout} + ${STOP_MARGIN_S}: the kubelet would kill the drain`,
    )
  if (config.gracefulTimeout < config.timeout)
    say(
      `gracefulTimeout ${config.gracefulTimeout} < timeout ${config.timeout}: a stop would cut requests still within their timeout`,
    )

  // Memory: troupe's per-worker limits trip before the container's.
  const limitBytes = quantity(obj(obj(container.resources).limits).memory)
  if (limitBytes === undefined) say('Deployment: the container has no memory limit')
  else {
    const limitMb = limitBytes / 2 ** 20
    if (config.placement !== 'process')
      say(
        `placement ${config.placement}: memory and memorySoft bound a worker's RSS only with process workers`,
      )
    if (config.memory <= 0) say('memory is 0: workers have no limit below the container’s')
    if (config.memorySoft <= 0 || config.memorySoft >= config.memory)
      say(`memorySoft ${config.memorySoft} must be above 0 and below memory ${config.memory}`)
    const master = served.masterMb
    const needed = config.workers * config.memory + master
    if (needed > limitMb)
      say(
        `Deployment: memory limit ${limitMb} MiB < ${config.workers} workers × memory ${config.memory} + the master's ${master}: ` +
          'the OOM killer would end the container before troupe recycles a worker',
      )
  }

  // Security: non-root, read-only root filesystem with a writable temp dir for the control socket.
  const podSecurity = obj(spec.securityContext)
  const security = obj(container.securityContext)
  if ((security.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true)
    say('Deployment: runAsNonRoot is not set: the kubelet would run a root image')
  if (security.runAsUser === 0 || podSecurity.runAsUser === 0) say('Deployment: runAsUser is 0 (root)')
  if (security.allowPrivilegeEscalation !== false) say('Deployment: allowPrivilegeEscalation is not false')
  if (security.readOnlyRootFilesystem !== true) say('Deployment: readOnlyRootFilesystem is not true')
  else if (
    config.control !== 'none' &&
    !list(container.volumeMounts).some((mount) => obj(mount).mountPath === '/tmp')
  )
    say(
      'Deployment: the root filesystem is read-only and /tmp is not mounted: the control socket has nowhere to go',
    )

  // Service: the app's port.
  const services = manifestsOf(files, 'Service')
  if (services.length === 0) say('deploy/kubernetes/ has no Service')
  for (const service of services) {
    const serviceSpec = obj(service.spec)
    if (!matches(serviceSpec.selector, labels)) say("Service: its selector does not match the pods' labels")
    for (const port of list(serviceSpec.ports).map(obj)) {
      const target = containerPort(container, port.targetPort ?? port.port)
      if (target === undefined || !bindPorts.includes(target))
        say(
          `Service: port ${String(port.port)} targets ${String(port.targetPort)} (${target}), not the bind port`,
        )
    }
  }

  // Metrics: /metrics on the admin port, by PodMonitor or by annotation; a token must reach the scraper.
  const annotations = obj(obj(template.metadata).annotations)
  const byAnnotation = annotations['prometheus.io/scrape'] === 'true'
  const monitors = manifestsOf(files, 'PodMonitor')
  const token = (config as unknown as Readonly<Record<string, unknown>>).adminToken
  if (!byAnnotation && monitors.length === 0)
    say('nothing scrapes /metrics: neither a PodMonitor nor prometheus.io annotations')
  if (byAnnotation) {
    if (Number(annotations['prometheus.io/port']) !== adminPort)
      say(
        `prometheus.io/port is ${String(annotations['prometheus.io/port'])}, not the admin port ${adminPort}`,
      )
    if ((annotations['prometheus.io/path'] ?? '/metrics') !== '/metrics')
      say(`prometheus.io/path is ${String(annotations['prometheus.io/path'])}, not /metrics`)
    if (typeof token === 'string')
      say('an admin token guards /metrics, and prometheus.io annotations cannot send one: use the PodMonitor')
  }
  for (const monitor of monitors) {
    const monitorSpec = obj(monitor.spec)
    if (!matches(monitorSpec.selector, labels))
      say("PodMonitor: its selector does not match the pods' labels")
    const endpoints = list(monitorSpec.podMetricsEndpoints).map(obj)
    if (endpoints.length === 0) say('PodMonitor: no podMetricsEndpoints')
    for (const endpoint of endpoints) {
      const port = containerPort(container, endpoint.port ?? endpoint.targetPort)
      if (port !== adminPort)
        say(`PodMonitor: scrapes port ${String(endpoint.port)} (${port}), not the admin port`)
      if ((endpoint.path ?? '/metrics') !== '/metrics')
        say(`PodMonitor: scrapes ${String(endpoint.path)}, not /metrics`)
      if (
        typeof token === 'string' &&
        !obj(endpoint.authorization).credentials &&
        !endpoint.bearerTokenSecret
      )
        say(
          'PodMonitor: an admin token guards /metrics and the endpoint sends none (authorization.credentials)',
        )
    }
  }
  return problems
}
