/**
 * Memory: the resident size of the whole server (master and every descendant) with 8 workers
 * serving hello after a warm-up load, troupe's thread placement against node:cluster's 8
 * processes. Not pinned. Both as a production server runs: plain JavaScript (troupe's dist/,
 * built first, and a built app; cluster-built.mjs). A `.ts` app, or troupe run from its sources,
 * starts Node's type stripper (a wasm module) in every thread and process: ~13 MB each here.
 */
import {
  buildDist,
  errorsOf,
  fixed,
  type Launched,
  launch,
  median,
  memoryOf,
  show,
  sleep,
  spread,
  stop,
  wrk,
} from '../runner.ts'
import type { Contender } from './compare.ts'
import { shippedCluster, shippedTroupe } from './contenders.ts'
import type { Scenario, Settings } from './scenario.ts'

const WORKERS = 8
const contenders: Contender[] = [
  shippedCluster(WORKERS),
  shippedTroupe(`troupe thread placement ×${WORKERS}, (req, res) app`, {
    app: 'hello-built.mjs',
    workers: WORKERS,
  }),
  shippedTroupe(`troupe thread placement ×${WORKERS}, fetch app`, {
    app: 'hello-fetch-built.mjs',
    workers: WORKERS,
  }),
  shippedTroupe(`troupe process placement ×${WORKERS}, (req, res) app`, {
    app: 'hello-built.mjs',
    workers: WORKERS,
    placement: 'process',
  }),
]
const loadSeconds = (s: Settings) => Math.max(1, Math.min(3, s.duration))

/** RSS in MB after a warm-up load, settled a moment. */
const residentMb = async (
  contender: Contender,
  settings: Settings,
  commands: Set<string>,
  problems: string[],
) => {
  commands.add(show(contender.argv))
  let server: Launched | undefined
  try {
    server = await launch(contender.argv, 60_000)
    const run = await wrk(
      [
        'wrk',
        '-t1',
        `-c${settings.connections}`,
        `-d${loadSeconds(settings)}s`,
        `http://127.0.0.1:${server.port}/`,
      ],
      loadSeconds(settings),
    )
    if (errorsOf(run) > 0) problems.push(`${errorsOf(run)} errors in the warm-up load`)
    await sleep(500)
    return memoryOf(server.pid).totalKb / 1024
  } catch (error) {
    problems.push(`run failed: ${(error as Error).message.split('\n')[0]}`)
    return Number.NaN
  } finally {
    if (server) await stop(server, contender.name)
  }
}

export const memory: Scenario = {
  name: 'memory',
  title: `Memory: ${WORKERS} workers serving hello, against node:cluster`,
  estimate: (s) => s.rounds * contenders.length * (loadSeconds(s) + 4),
  run: async (settings, progress) => {
    const failed = buildDist()
    if (failed) throw new Error(failed)
    const commands = new Set<string>()
    const mb = contenders.map(() => [] as number[])
    const problems = contenders.map(() => [] as string[])
    for (let round = 1; round <= settings.rounds; round++)
      for (const [i, contender] of contenders.entries()) {
        mb[i]!.push(await residentMb(contender, settings, commands, problems[i]!))
        progress(`round ${round}/${settings.rounds} ${contender.name}: ${fixed(mb[i]!.at(-1)!, 0)} MB`)
      }
    // Each candidate's ratio is to node:cluster's figure of the same round.
    const ratios = (i: number) => mb[i]!.map((v, round) => v / mb[0]![round]!).filter(Number.isFinite)
    const threadRatio = median(ratios(1))
    return [
      {
        title: `resident memory of the whole server, ${WORKERS} workers, after ${loadSeconds(settings)} s of load`,
        method:
          'VmRSS summed over the master and every descendant process (threads share their process), read 0.5 s after a ' +
          `\`wrk -c${settings.connections}\` load; ${settings.rounds} rounds; ratio = candidate ÷ node:cluster of its round.`,
        rows: contenders.map((c, i) => ({
          server: c.name,
          'RSS MB (median)': fixed(median(mb[i]!), 0),
          'min–max': spread(mb[i]!, 0),
          ratio: i === 0 ? '1' : fixed(median(ratios(i)), 2),
          note: problems[i]!.join('; '),
        })),
        targets: [
          {
            what: `${WORKERS} thread workers' RSS ÷ ${WORKERS} node:cluster workers'`,
            measured: Number.isFinite(threadRatio)
              ? `${fixed(threadRatio, 2)}× (${spread(ratios(1), 2)})`
              : '—',
            bound: '≤ 0.4×',
            met: Number.isFinite(threadRatio) ? threadRatio <= 0.4 : undefined,
          },
        ],
        commands: [...commands],
      },
    ]
  },
}
