/**
 * Overload: 4× the requests a worker can serve, sent open-loop (open-loop.ts: on a schedule,
 * whatever the answers do), against one worker of a CPU-bound app (1 ms a request) pinned to
 * its own CPU, the load from the other.
 *
 * Phases on one server: wrk finds the capacity (and warms the JIT); half that rate for a
 * while gives the normal p99; 4× the capacity is the overload; half the capacity again, at
 * once, shows the recovery. troupe with `--max-queue-delay 1` is held to the bounds: the
 * excess shed with 503 + Retry-After in ≤ 10 ms (p99), the served p99 within 3× the normal
 * one, memory bounded, back to normal within 1 s, nothing failed or lost. The full run adds
 * troupe's default (no shedding) beside it, for what the flag buys.
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { SHED_INTERVAL_MS } from '../../../actors/http-worker/queue-shedder.ts'
import { processTree } from '../../bench/process-tree.ts'
import { fixed, memoryOfPids, sleep, whole, wrk } from '../../bench/runner.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import { type ChaosSettings, type Fault, timing } from '../fault.ts'
import { wrkArgv } from '../load.ts'
import { type Answer, OpenLoopClient, type OpenLoopResult, quantile } from '../open-loop.ts'
import { startTroupe, type TroupeChaos, troupeArgv } from '../servers.ts'

const SERVER_CPU = '1'
const LOAD_CPU = '0'
const TARGET_MS = 1
const OVERLOAD = 4
/** Clients connected before the load begins (wrk's -c); more connect when all are waiting. */
const CONNECTED = 64
const SHED_BOUND_MS = 10
/** The overload's first moments, twice the shedder's interval: see below. */
const ONSET_MS = 2 * SHED_INTERVAL_MS
const RECOVERY_BOUND_MS = 1_000
const MEMORY_BOUND_MB = 64

const phases = (s: ChaosSettings) =>
  s.short
    ? { capacity: 2, normal: 3, overload: 5, after: 2 }
    : { capacity: 3, normal: 5, overload: 10, after: 3 }
const placements = ['thread', 'process'] as const

const shapes = (s: ChaosSettings, placement: string): Array<TroupeChaos & { bounded: boolean }> => [
  {
    name: `troupe ×1, ${placement}, --max-queue-delay ${TARGET_MS}`,
    flags: ['--workers', '1', '--placement', placement, '--max-queue-delay', String(TARGET_MS)],
    app: 'apps/busy.mjs',
    pin: SERVER_CPU,
    bounded: true,
  },
  ...(s.short
    ? []
    : [
        {
          name: `troupe ×1, ${placement} (default: no shedding)`,
          flags: ['--workers', '1', '--placement', placement],
          app: 'apps/busy.mjs',
          pin: SERVER_CPU,
          bounded: false,
        },
      ]),
]

/** Pins this process (the load generator) to `cpus`, all its threads. */
const pinSelf = (cpus: string) => execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)])

const served = (r: OpenLoopResult) => r.answers.filter((a) => a.status >= 200 && a.status < 300)
const shed = (r: OpenLoopResult) => r.answers.filter((a) => a.status === 503)
const msOf = (answers: readonly Answer[]) => answers.map((a) => a.ms)
const ms = (n: number) => (Number.isFinite(n) ? `${fixed(n, 1)} ms` : '—')

/** How long a stretch of only normal answers says the server is back to normal, ms. */
const QUIET_MS = 250

/**
 * Recovery after the overload: when the last abnormal answer (not a 200, or slower than
 * `normalBound`) was due before the first QUIET_MS of only normal ones; never, while requests of
 * the phase went unanswered. A lone slow answer later (a stall the normal phase can have too) is
 * not the overload's: it is reported apart, as the worst answer after the recovery.
 */
const recovery = ({ answers, failed, lost }: OpenLoopResult, normalBound: number) => {
  // A request of the phase that got no answer at all: it never came back to normal within it.
  if (failed + lost > 0) return { recoveryMs: Number.POSITIVE_INFINITY, laterWorst: Number.NaN }
  const abnormal = answers
    .filter((a) => a.status !== 200 || a.ms > normalBound)
    .map((a) => a.at)
    .sort((a, b) => a - b)
  let recoveryMs = 0
  for (const at of abnormal) {
    // Quiet from recoveryMs until this one, long enough: recovered before it.
    if (at - recoveryMs >= QUIET_MS) break
    recoveryMs = at
  }
  const laterWorst = Math.max(0, ...answers.filter((a) => a.at > recoveryMs).map((a) => a.ms))
  return { recoveryMs, laterWorst }
}

/** Runs an open-loop phase while sampling the tree's RSS; resolves with both. */
const phase = async (client: OpenLoopClient, pid: number, rate: number, seconds: number) => {
  // The tree is found once, before the load: walking /proc at every sample stalled the generator
  // (same loop) for milliseconds, which its latencies then counted.
  const pids = processTree(pid)
  const running = client.run({ rate, seconds })
  let maxKb = 0
  let done = false
  void running.then(() => {
    done = true
  })
  while (!done) {
    maxKb = Math.max(maxKb, memoryOfPids(pid, pids).totalKb)
    await sleep(250)
  }
  return { result: await running, maxKb }
}

export const overload: Fault = {
  name: 'overload',
  title: `Overload: ${OVERLOAD}× a worker's capacity, open loop`,
  estimate: (s) => {
    const p = phases(s)
    return placements.length * shapes(s, '').length * (p.capacity + p.normal + p.overload + p.after + 10)
  },
  run: async (settings, progress) => {
    if (availableParallelism() < 2)
      throw new Error('the overload fault needs 2 CPUs: one for the server, one for the load')
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const p = phases(settings)
    const commands: string[] = []
    pinSelf(LOAD_CPU)
    try {
      for (const placement of placements)
        for (const shape of shapes(settings, placement)) {
          commands.push(troupeArgv(shape, 'SOCKET').join(' '))
          const server = await startTroupe(shape)
          try {
            const capacityRun = await wrk(
              [
                'taskset',
                '-c',
                LOAD_CPU,
                ...wrkArgv({ port: server.port, seconds: p.capacity, connections: 1 }),
              ],
              p.capacity,
            )
            // wrk counts the 503s of a shedding server too: capacity is what was served.
            const capacity = (capacityRun.requests - capacityRun.non2xx) / p.capacity
            const client = new OpenLoopClient(server.port)
            await client.connect(CONNECTED)
            const normal = await phase(client, server.pid, capacity / 2, p.normal)
            const over = await phase(client, server.pid, capacity * OVERLOAD, p.overload)
            const after = await phase(client, server.pid, capacity / 2, p.after)
            client.close()

            const normalP99 = quantile(msOf(served(normal.result)), 0.99)
            // CoDel's interval: a queue is let stand SHED_INTERVAL_MS before it is judged standing
            // (a burst is served), so the requests due then wait it out. The bounds on latency are
            // for the overload after its onset; the onset is bounded on its own.
            const onsetShed = shed(over.result).filter((a) => a.at < ONSET_MS)
            const firstShedAt = Math.min(...shed(over.result).map((a) => a.at))
            const onsetWorst = Math.max(
              0,
              ...over.result.answers.filter((a) => a.at < ONSET_MS).map((a) => a.ms),
            )
            const overServed = served(over.result).filter((a) => a.at >= ONSET_MS)
            const overShed = shed(over.result).filter((a) => a.at >= ONSET_MS)
            const servedP99 = quantile(msOf(overServed), 0.99)
            const shedP50 = quantile(msOf(overShed), 0.5)
            const shedP99 = quantile(msOf(overShed), 0.99)
            const withoutRetry = [...onsetShed, ...overShed].filter((a) => !a.retryAfter).length
            const normalBound = 3 * normalP99
            const { recoveryMs, laterWorst } = recovery(after.result, normalBound)
            const failed = [normal, over, after].reduce(
              (n, { result }) =>
                n +
                result.failed +
                result.lost +
                result.answers.filter((a) => a.status !== 503 && (a.status < 200 || a.status >= 300)).length,
              0,
            )
            const growthMb = (over.maxKb - normal.maxKb) / 1024
            const normalShed = shed(normal.result).length
            progress(
              `${shape.name}: capacity ${whole(capacity)}/s; normal p99 ${ms(normalP99)}; at ${OVERLOAD}×: served ${whole(overServed.length / p.overload)}/s p99 ${ms(servedP99)}, shed ${whole(overShed.length)} p50 ${ms(shedP50)} p99 ${ms(shedP99)}; recovery ${ms(recoveryMs)}; failed ${failed}`,
            )
            rows.push({
              server: shape.name,
              'capacity (wrk)': `${whole(capacity)}/s`,
              'normal p99 (½ capacity)': ms(normalP99),
              [`${OVERLOAD}×: first 503 / worst answer, first ${ONSET_MS} ms`]: `${ms(firstShedAt)} / ${ms(onsetWorst)}`,
              [`${OVERLOAD}×: served/s`]: whole(overServed.length / p.overload),
              [`${OVERLOAD}×: served p99`]: ms(servedP99),
              [`${OVERLOAD}×: shed`]: `${whole(overShed.length)} (${fixed((100 * overShed.length) / Math.max(1, over.result.due), 0)}%)`,
              [`${OVERLOAD}×: shed p50 / p99`]: overShed.length ? `${ms(shedP50)} / ${ms(shedP99)}` : '—',
              'peak connections': String(over.result.peakConnections),
              'RSS growth': `${fixed(growthMb, 1)} MB`,
              'back to normal (then worst answer)': Number.isFinite(recoveryMs)
                ? `${ms(recoveryMs)} (${ms(laterWorst)})`
                : 'not within the phase',
              "load generator's longest stall (½ / 4× / ½)": [normal, over, after]
                .map(({ result }) => fixed(result.clientStallMs, 0))
                .join(' / ')
                .concat(' ms'),
              'failed or lost': String(failed),
            })
            if (!shape.bounded) continue
            const name = shape.name
            targets.push(
              {
                what: `${name}: requests failed or lost (all three phases)`,
                measured: String(failed),
                bound: '0',
                met: failed === 0,
              },
              {
                what: `${name}: excess shed with 503 + Retry-After`,
                measured: `${whole(overShed.length)} shed, ${withoutRetry} without Retry-After`,
                bound: '> 0, all with Retry-After',
                met: overShed.length > 0 && withoutRetry === 0,
              },
              {
                what: `${name}: memory at ${OVERLOAD}× beyond half load`,
                measured: `${fixed(growthMb, 1)} MB`,
                bound: `≤ ${MEMORY_BOUND_MB} MB`,
                met: growthMb <= MEMORY_BOUND_MB,
              },
              timing({
                what: `${name}: shed at half load`,
                measured: String(normalShed),
                bound: '0',
                met: normalShed === 0,
              }),
              timing({
                what: `${name}: shedding begins after the overload does`,
                measured: `first 503 for a request due at ${ms(firstShedAt)}`,
                bound: `≤ ${ONSET_MS} ms`,
                met: firstShedAt <= ONSET_MS,
              }),
              timing({
                what: `${name}: 503 latency p99 after the onset`,
                measured: ms(shedP99),
                bound: `≤ ${SHED_BOUND_MS} ms`,
                met: shedP99 <= SHED_BOUND_MS,
              }),
              timing({
                what: `${name}: served p99 at ${OVERLOAD}× after the onset ÷ at half load`,
                measured: `${fixed(servedP99 / normalP99, 2)}× (${ms(servedP99)} ÷ ${ms(normalP99)})`,
                bound: '≤ 3×',
                met: servedP99 <= normalBound,
              }),
              timing({
                what: `${name}: back to normal after the load`,
                measured: ms(recoveryMs),
                bound: `≤ ${RECOVERY_BOUND_MS} ms`,
                met: recoveryMs <= RECOVERY_BOUND_MS,
              }),
            )
          } finally {
            await server.stop()
          }
        }
    } finally {
      pinSelf(`0-${availableParallelism() - 1}`)
    }
    const finding: Finding = {
      title: `${OVERLOAD}× overload, one worker of a 1 ms CPU-bound app`,
      method: `Server pinned to CPU ${SERVER_CPU}, load from CPU ${LOAD_CPU}. Capacity: wrk -t1 -c1 (one request at a time: no queue to shed) for ${p.capacity} s (its 2xx per second). Then open loop (spec/chaos/open-loop.ts: requests due on a schedule, ${CONNECTED} kept-alive connections open beforehand and more as needed, the same clients through the three phases, latency from when each was due): ½ capacity for ${p.normal} s (normal), ${OVERLOAD}× for ${p.overload} s (latency bounds on the requests due after its first ${ONSET_MS} ms, the onset, which has a column of its own), ½ again for ${p.after} s (recovery: when the last answer that was not a 200 within 3× the normal p99 was due before ${QUIET_MS} ms of only such answers; the worst answer after it is shown beside). The load generator's longest stall (its loop away between two 1 ms ticks) is shown per phase: requests due in one go out late, and count it as latency. RSS of the whole tree sampled every 250 ms.`,
      rows,
      targets,
      commands,
    }
    return [finding]
  },
}
