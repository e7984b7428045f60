/**
 * Start-up, of troupe as the package ships it (dist/, built first) serving a plain-JS app: a
 * worker's spawn-to-ready (in-process `troupe:actor:ready` spawnMs of workers added by scaling,
 * spec/bench/spawn-ready.ts) per placement, beside the floor under it measured the same way (a
 * bare thread or fork serving node:http, spec/bench/spawn-floor.ts); and a server's process
 * start to its serving line with one worker against bare node:http's start to listening, both
 * from an empty directory (no troupe.config.ts to load). Not pinned.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  buildDist,
  fixed,
  flags,
  launch,
  loadOutput,
  median,
  NODE,
  root,
  show,
  spread,
  stop,
} from '../runner.ts'
import { shippedTroupe } from './contenders.ts'
import type { Finding, Scenario, Settings } from './scenario.ts'

// Whole batches of spawn-ready's 4: its first batch of a run is the slowest.
const spawnsOf = (s: Settings) => (s.quick ? 8 : 20)
const startsOf = (s: Settings) => (s.quick ? 3 : 7)
const placements = [
  { placement: 'thread', boundMs: 50 },
  { placement: 'process', boundMs: 120 },
] as const
/** Both start from an empty directory: troupe as it ships (its paths absolute). */
const builtTroupe = shippedTroupe('troupe (dist/cli.js), 1 worker, thread placement', {
  app: 'hello-built.mjs',
})
/** Both serve the hello app as plain JavaScript, as a production app is (hello-built.mjs). */
const starters = [
  { name: 'bare node:http', argv: [resolve(root, NODE), join(root, 'spec/bench/bare-built.mjs')] },
  builtTroupe,
]

/** One script's `spawnMs` (its JSON line), or why there is none. */
const spawnRun = async (argv: readonly string[]): Promise<{ spawnMs: number[]; problem: string }> => {
  try {
    const output = await loadOutput(argv, 120)
    const line = output.split('\n').find((l) => l.startsWith('{'))
    if (!line) throw new Error(output.slice(-300))
    return { spawnMs: (JSON.parse(line) as { spawnMs: number[] }).spawnMs, problem: '' }
  } catch (error) {
    return { spawnMs: [], problem: (error as Error).message.split('\n')[0]! }
  }
}

const spawnTimes = async (settings: Settings, progress: (line: string) => void): Promise<Finding> => {
  const rows: Array<Record<string, string>> = []
  const targets: Finding['targets'][number][] = []
  const commands: string[] = []
  for (const { placement, boundMs } of placements) {
    const spawns = ['--placement', placement, '--spawns', String(spawnsOf(settings))]
    const argv = [
      NODE,
      'spec/bench/spawn-ready.ts',
      ...spawns,
      '--built',
      '--app',
      'spec/bench/hello-built.mjs',
    ]
    const floorArgv = [NODE, 'spec/bench/spawn-floor.ts', ...spawns]
    commands.push(show(argv), show(floorArgv))
    const floor = await spawnRun(floorArgv)
    const { spawnMs, problem } = await spawnRun(argv)
    const m = median(spawnMs)
    const f = median(floor.spawnMs)
    progress(
      `spawn-to-ready, ${placement} placement: median ${fixed(m, 1)} ms over ${spawnMs.length} (floor ${fixed(f, 1)} ms)`,
    )
    for (const [who, times, note] of [
      [
        `bare ${placement === 'thread' ? 'worker thread' : 'fork'} serving node:http (the floor)`,
        floor.spawnMs,
        floor.problem,
      ],
      ['troupe worker, hello-built.mjs', spawnMs, problem],
    ] as const)
      rows.push({
        placement,
        spawned: who,
        'spawn-to-ready ms (median)': fixed(median(times), 1),
        'min–max': spread(times, 1),
        spawns: String(times.length),
        note,
      })
    targets.push({
      what: `worker spawn-to-ready, ${placement} placement (median)`,
      measured: `${fixed(m, 1)} ms (floor ${fixed(f, 1)} ms, ${fixed(m / f, 2)}×)`,
      bound: `≤ ${boundMs} ms`,
      met: Number.isFinite(m) ? m <= boundMs : undefined,
      ...(problem ? { note: problem } : {}),
    })
  }
  return {
    title: 'worker spawn-to-ready (a worker added by scaling: spawned → its app loaded and serving)',
    method: `spec/bench/spawn-ready.ts: ${spawnsOf(settings)} workers added one at a time by \`scale()\`, each one's \`troupe:actor:ready\` spawnMs.`,
    rows,
    targets,
    commands,
  }
}

const startTimes = async (settings: Settings, progress: (line: string) => void): Promise<Finding> => {
  const times = starters.map(() => [] as number[])
  const commands = new Set<string>()
  // Where a user's project would have its troupe.config.ts, this repository has one (npm start's).
  const emptyDir = mkdtempSync(join(tmpdir(), 'troupe-start-'))
  for (let round = 1; round <= startsOf(settings); round++)
    for (const [i, contender] of starters.entries()) {
      commands.add(show(contender.argv))
      try {
        const server = await launch(contender.argv, 60_000, undefined, emptyDir)
        times[i]!.push(server.readyMs)
        await stop(server, contender.name)
      } catch (error) {
        flags.push(`start to serving, ${contender.name}: ${(error as Error).message.split('\n')[0]}`)
      }
    }
  rmSync(emptyDir, { recursive: true, force: true })
  const ratios = times[1]!.map((t, round) => t / times[0]![round]!).filter(Number.isFinite)
  const ratio = median(ratios)
  progress(
    `start to serving: troupe ${fixed(median(times[1]!), 0)} ms, bare ${fixed(median(times[0]!), 0)} ms`,
  )
  return {
    title: 'process start to serving, one worker, against bare node:http start to listening',
    method: `spawn() to the server's serving line on stderr, from an empty directory, ${startsOf(settings)} alternating starts each; ratio per pair.`,
    rows: starters.map((c, i) => ({
      server: c.name,
      'ms (median)': fixed(median(times[i]!), 0),
      'min–max': spread(times[i]!, 0),
      ratio: i === 0 ? '1' : `${fixed(ratio, 2)} (${spread(ratios, 2)})`,
    })),
    targets: [
      {
        what: 'troupe start to serving ÷ bare node:http start to listening',
        measured: `${fixed(ratio, 2)}×`,
        bound: '≤ 1.5×',
        met: Number.isFinite(ratio) ? ratio <= 1.5 : undefined,
      },
    ],
    commands: [...commands],
  }
}

export const spawn: Scenario = {
  name: 'spawn',
  title: 'Start-up: worker spawn-to-ready and server start to serving',
  estimate: (s) => placements.length * (8 + spawnsOf(s) * 0.8) + startsOf(s) * 2 * 1.5,
  run: async (settings, progress) => {
    const failed = buildDist()
    if (failed) throw new Error(failed)
    return [await spawnTimes(settings, progress), await startTimes(settings, progress)]
  },
}
