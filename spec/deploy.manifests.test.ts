/**
 * deploy/ agrees with itself: every Kubernetes manifest parses, and the Dockerfile, the
 * manifests and the troupe config they run (deploy/troupe.config.ts resolved with the
 * container's arguments and environment, as `troupe serve` would inside the pod) name the same
 * ports, paths, timings and memory. Each check is shown to fail on a copy changed in one place.
 */
import { describe, expect, it } from 'vitest'
import {
  copyDeployFiles,
  type DeployFiles,
  deployProblems,
  manifestsOf,
  podOf,
  readDeployFiles,
} from './support/deploy-check.ts'

const files = readDeployFiles()

type Json = Record<string, any>
const container = (copy: DeployFiles): Json => podOf(copy).container
const args = (copy: DeployFiles): string[] => container(copy).args as string[]
const pod = (copy: DeployFiles): Json => podOf(copy).spec
const first = (copy: DeployFiles, kind: string): Json => manifestsOf(copy, kind)[0]!
const dockerfile = (copy: DeployFiles, from: RegExp, to: string) => {
  expect(copy.dockerfile).toMatch(from)
  copy.dockerfile = copy.dockerfile.replace(from, to)
}

describe('deploy/', () => {
  it('holds a Deployment, a Service and a PodMonitor, each with a kind, an apiVersion and a name', () => {
    expect(files.manifests.map(({ doc }) => doc.kind).sort()).toEqual(['Deployment', 'PodMonitor', 'Service'])
    for (const { file, doc } of files.manifests) {
      expect(doc.apiVersion, file).toEqual(expect.any(String))
      expect((doc.metadata as Json | undefined)?.name, file).toEqual(expect.any(String))
    }
  })

  it('the Dockerfile, the manifests and the config they run agree', async () => {
    expect(await deployProblems(files)).toEqual([])
  })

  const changes: ReadonlyArray<readonly [string, (copy: DeployFiles) => void, RegExp]> = [
    [
      'the app port is not the bind port',
      (c) => {
        container(c).ports[0].containerPort = 8080
      },
      /no containerPort 8000, the bind port/,
    ],
    ['troupe binds the loopback', (c) => args(c).push('--bind', '127.0.0.1:8000'), /binds 127\.0\.0\.1:8000/],
    [
      'the admin listener binds the loopback (a bare port)',
      (c) => {
        args(c)[args(c).indexOf('0.0.0.0:9100')] = '9100'
      },
      /admin listener binds 127\.0\.0\.1:9100/,
    ],
    [
      'the readiness probe asks another path',
      (c) => {
        container(c).readinessProbe.httpGet.path = '/healthz'
      },
      /readinessProbe asks \/healthz, not \/readyz/,
    ],
    [
      'the liveness probe asks the app port',
      (c) => {
        container(c).livenessProbe.httpGet.port = 'http'
      },
      /livenessProbe asks port http \(8000\), not the admin port 9100/,
    ],
    [
      'no preStop sleep',
      (c) => {
        delete container(c).lifecycle
      },
      /no preStop sleep/,
    ],
    [
      'a grace period shorter than preStop + gracefulTimeout',
      (c) => {
        pod(c).terminationGracePeriodSeconds = 30
      },
      /terminationGracePeriodSeconds 30 < preStop 5 \+ gracefulTimeout 25/,
    ],
    [
      'gracefulTimeout below the request timeout',
      (c) => args(c).push('--timeout', '30'),
      /gracefulTimeout 25 < timeout 30/,
    ],
    [
      'workers whose memory limits add up past the container’s',
      (c) => args(c).push('--memory', '600'),
      /memory limit 1024 MiB < 2 workers × memory 600/,
    ],
    [
      'a container limit too small for its workers',
      (c) => {
        container(c).resources.limits.memory = '384Mi'
        container(c).resources.requests.memory = '384Mi'
      },
      /refuse to start: .*384 MiB of memory for 2 workers leaves 64 MiB each/,
    ],
    [
      'thread workers (their memory is a heap limit, not RSS)',
      (c) => args(c).push('--placement', 'thread'),
      /placement thread: memory and memorySoft bound a worker's RSS only with process workers/,
    ],
    [
      'runAsNonRoot dropped',
      (c) => {
        delete pod(c).securityContext.runAsNonRoot
      },
      /runAsNonRoot is not set/,
    ],
    [
      'a read-only root filesystem without a /tmp mount',
      (c) => {
        delete container(c).volumeMounts
      },
      /the control socket has nowhere to go/,
    ],
    [
      'the Service targets the admin port',
      (c) => {
        first(c, 'Service').spec.ports[0].targetPort = 'admin'
      },
      /Service: port 80 targets admin \(9100\), not the bind port/,
    ],
    [
      'the PodMonitor scrapes the app port',
      (c) => {
        first(c, 'PodMonitor').spec.podMetricsEndpoints[0].port = 'http'
      },
      /PodMonitor: scrapes port http \(8000\), not the admin port/,
    ],
    [
      'the scrape annotation names the app port',
      (c) => {
        ;(podOf(c).template as Json).metadata.annotations['prometheus.io/port'] = '8000'
      },
      /prometheus\.io\/port is 8000, not the admin port 9100/,
    ],
    [
      'an admin token the PodMonitor does not send',
      (c) => {
        container(c).env.push({
          name: 'TROUPE_ADMIN_TOKEN',
          valueFrom: { secretKeyRef: { name: 'troupe-admin', key: 'token' } },
        })
      },
      /PodMonitor: an admin token guards \/metrics and the endpoint sends none/,
    ],
    [
      'the image runs as root',
      (c) => dockerfile(c, /^USER 1000:1000$/m, 'USER root'),
      /USER is root: the image must run as a numeric non-root uid/,
    ],
    [
      'the image runs troupe as PID 1, without tini',
      (c) => dockerfile(c, /^ENTRYPOINT .*$/m, 'ENTRYPOINT ["node", "dist/cli.js"]'),
      /ENTRYPOINT must start with tini --/,
    ],
    [
      'the image runs something else than troupe’s bin',
      (c) => dockerfile(c, /"dist\/cli\.js"/, '"dist/index.js"'),
      /does not run troupe's bin \(node dist\/cli\.js\)/,
    ],
    [
      'the build stage missing a folder it compiles',
      (c) => dockerfile(c, /^COPY transports \.\/transports\n/m, ''),
      /the build stage does not copy transports\/, which tsconfig.build.json compiles/,
    ],
    [
      'another stop signal',
      (c) => dockerfile(c, /^STOPSIGNAL SIGTERM$/m, 'STOPSIGNAL SIGQUIT'),
      /STOPSIGNAL must be SIGTERM/,
    ],
    [
      'the admin port not exposed',
      (c) => dockerfile(c, /^EXPOSE 8000 9100$/m, 'EXPOSE 8000'),
      /EXPOSE lacks 9100/,
    ],
    [
      'the config file not copied into the image',
      (c) => dockerfile(c, /^COPY deploy\/troupe\.config\.ts .*$/m, ''),
      /the config file \(deploy\/troupe\.config\.ts\) is not copied/,
    ],
  ]

  it.each(changes)('fails when %s', async (_what, change, problem) => {
    const copy = copyDeployFiles(files)
    change(copy)
    const problems = await deployProblems(copy)
    expect(
      problems.filter((line) => problem.test(line)),
      problems.join('\n'),
    ).not.toHaveLength(0)
  })
})
