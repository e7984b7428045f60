/**
 * Slow clients: 1,000 slowloris connections (a header line every 5 s, the head never ends) and
 * 200 slow uploads (1 MB announced, a byte a second) against 2 workers, while a normal client
 * asks every 100 ms. troupe with its defaults (headersTimeout, timeout); beside it gunicorn's
 * sync workers and nginx (2 workers serving `return 200` itself, its timeouts at their
 * defaults: 60 s for a head or a body pause) in the full run. Bounds: every normal request answered, each in < 1 s (timing);
 * every attacker cut off by the server; the server's descriptors and memory bounded.
 * The short form gives troupe 5 s timeouts (the mechanism, not the defaults' length).
 */
import { readdirSync } from 'node:fs'
import { fixed, memoryOf, processTree, sleep, whole } from '../../bench/runner.ts'
import type { Contender } from '../../bench/scenarios/compare.ts'
import { gunicorn, gunicornMissing } from '../../bench/scenarios/contenders.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import { type Attack, slowBodies, slowloris } from '../attackers.ts'
import { type ChaosSettings, type Fault, timing } from '../fault.ts'
import { probeLoop } from '../load.ts'
import {
  nginxMissing,
  type Running,
  startNginx,
  startPeer,
  startTroupe,
  type TroupeChaos,
} from '../servers.ts'

const LORIS = 1_000
const BODIES = 200
/** How long the attack may take to be cut off entirely before the run ends anyway, s. */
const capOf = (s: ChaosSettings) => (s.short ? 20 : 100)
const NORMAL_BOUND_MS = 1_000

const fdsOf = (pid: number): number => {
  let n = 0
  for (const p of processTree(pid))
    try {
      n += readdirSync(`/proc/${p}/fd`).length
    } catch {}
  return n
}

const troupes = (s: ChaosSettings): TroupeChaos[] => [
  {
    name: s.short ? 'troupe ×2, thread, --headers-timeout 5 --timeout 5' : 'troupe ×2, thread (defaults)',
    flags: ['--workers', '2', ...(s.short ? ['--headers-timeout', '5', '--timeout', '5'] : [])],
  },
]
/** What users would run instead, started its own way: gunicorn's sync workers, nginx itself. */
interface Peer {
  readonly name: string
  readonly missing: string | undefined
  start(): Promise<Running>
}
const contender = (c: Contender): Peer => ({ name: c.name, missing: c.missing, start: () => startPeer(c) })
const peers = (s: ChaosSettings): Peer[] =>
  s.short
    ? []
    : [
        contender(gunicorn(2, undefined, gunicornMissing())),
        {
          name: 'nginx, 2 workers (return 200; its defaults)',
          missing: nginxMissing(),
          start: () => startNginx(2),
        },
      ]

const underAttack = async (
  settings: ChaosSettings,
  name: string,
  start: () => Promise<Running>,
  isTroupe: boolean,
  progress: (line: string) => void,
): Promise<{ row: Record<string, string>; targets: Target[] }> => {
  const server = await start()
  try {
    const baseFds = fdsOf(server.pid)
    const baseKb = memoryOf(server.pid).totalKb
    const normal = probeLoop(server.port, '/', 100)
    await sleep(500)
    const attacks: Attack[] = [slowloris(server.port, LORIS), slowBodies(server.port, BODIES)]
    const began = performance.now()
    let maxFds = 0
    let maxKb = 0
    while (performance.now() - began < capOf(settings) * 1_000) {
      maxFds = Math.max(maxFds, fdsOf(server.pid))
      maxKb = Math.max(maxKb, memoryOf(server.pid).totalKb)
      if (attacks.every((a) => a.open() === 0) && performance.now() - began > 2_000) break
      await sleep(250)
    }
    const answers = await normal.stop()
    const [loris, bodies] = attacks as [Attack, Attack]
    const left = loris.open() + bodies.open()
    for (const a of attacks) a.stop()
    await sleep(300)
    const endFds = fdsOf(server.pid)
    const during = answers.filter((a) => a.at >= began)
    const bad = during.filter((a) => a.status !== 200)
    const slowest = Math.max(0, ...during.map((a) => a.ms))
    const cutAt = (a: Attack) => (a.cut.length ? `${fixed(Math.max(...a.cut) / 1_000, 1)} s` : '—')
    progress(
      `${name}: normal ${during.length - bad.length}/${during.length} ok (slowest ${fixed(slowest, 0)} ms); slowloris cut ${loris.cut.length}/${LORIS} by ${cutAt(loris)}, bodies ${bodies.cut.length}/${BODIES} by ${cutAt(bodies)}; fds max ${maxFds}`,
    )
    const row = {
      server: name,
      'normal requests ok': `${during.length - bad.length} of ${during.length}`,
      'slowest normal': `${fixed(slowest, 0)} ms`,
      'slowloris cut (last at)': `${loris.cut.length} of ${LORIS} (${cutAt(loris)})`,
      'slow bodies cut (last at)': `${bodies.cut.length} of ${BODIES} (${cutAt(bodies)})`,
      'fds before / max / after': `${baseFds} / ${maxFds} / ${endFds}`,
      'RSS before / max': `${fixed(baseKb / 1024, 0)} / ${fixed(maxKb / 1024, 0)} MB`,
    }
    if (!isTroupe) return { row, targets: [] }
    return {
      row,
      targets: [
        {
          what: `${name}: normal requests during the attack answered`,
          measured: `${during.length - bad.length} of ${during.length}`,
          bound: 'all',
          met: during.length > 0 && bad.length === 0,
        },
        timing({
          what: `${name}: slowest normal request during the attack`,
          measured: `${fixed(slowest, 0)} ms`,
          bound: `< ${NORMAL_BOUND_MS} ms`,
          met: slowest < NORMAL_BOUND_MS,
        }),
        {
          what: `${name}: attackers cut off by the server`,
          measured: `${whole(loris.cut.length + bodies.cut.length)} of ${whole(LORIS + BODIES)} (slowloris by ${cutAt(loris)}, bodies by ${cutAt(bodies)})`,
          bound: `all, within ${capOf(settings)} s`,
          met: left === 0,
        },
        {
          what: `${name}: descriptors and memory under the attack`,
          measured: `fds ${baseFds} → max ${maxFds} → ${endFds}; RSS +${fixed((maxKb - baseKb) / 1024, 0)} MB`,
          bound: `fds ≤ before + ${LORIS + BODIES} + 64 and back after; RSS +≤ 200 MB`,
          met:
            maxFds <= baseFds + LORIS + BODIES + 64 && endFds <= baseFds + 64 && maxKb - baseKb <= 200 * 1024,
        },
      ],
    }
  } finally {
    await server.stop()
  }
}

export const slowClients: Fault = {
  name: 'slow-clients',
  title: 'Slow clients: slowloris heads and slow uploads beside a normal client',
  estimate: (s) => (troupes(s).length + peers(s).length) * (capOf(s) + 5),
  run: async (settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    for (const t of troupes(settings)) {
      const outcome = await underAttack(settings, t.name, () => startTroupe(t), true, progress)
      rows.push(outcome.row)
      targets.push(...outcome.targets)
    }
    for (const peer of peers(settings)) {
      if (peer.missing) {
        rows.push({ server: peer.name, 'normal requests ok': `skipped: ${peer.missing}` })
        continue
      }
      rows.push((await underAttack(settings, peer.name, () => peer.start(), false, progress)).row)
    }
    const finding: Finding = {
      title: `${whole(LORIS)} slowloris connections and ${BODIES} slow uploads against 2 workers, a normal GET every 100 ms`,
      method: `Slowloris: \`GET / HTTP/1.1\` and a header line every 5 s, never the blank line. Slow uploads: \`POST\` announcing 1 MB, a byte a second. The attack runs until the server has cut every attacker off or ${capOf(settings)} s passed; descriptors are /proc/PID/fd over the server's processes, RSS their sum. Normal requests: GET / on a fresh connection every 100 ms, counted from the attack's start.`,
      rows,
      targets,
      commands: [],
    }
    return [finding]
  },
}
