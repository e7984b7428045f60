/**
 * Reloads under load: HUP every second, 20 times (3 in the short form), while wrk keeps 64
 * connections busy, with keep-alive and with a connection per request. troupe in both
 * placements and both strategies; beside it, what users would otherwise run, reloaded as they
 * reload it: PM2 7 cluster mode (`pm2 reload`) and gunicorn (HUP). Bound, for troupe: 0 failed
 * requests, every reload done.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fixed, sleep, whole } from '../../bench/runner.ts'
import type { Contender } from '../../bench/scenarios/compare.ts'
import { gunicorn, gunicornMissing, pm2 } from '../../bench/scenarios/contenders.ts'
import type { Finding, Target } from '../../bench/scenarios/scenario.ts'
import type { ChaosSettings, Fault } from '../fault.ts'
import { describeLoad, startLoad, wrkArgv } from '../load.ts'
import { type Running, startPeer, startTroupe, type TroupeChaos } from '../servers.ts'

const CONNECTIONS = 64
const reloadsOf = (s: ChaosSettings) => (s.short ? 3 : 20)
/** Load before the first HUP and after the last, seconds. */
const BEFORE = 2
const AFTER = 3

const troupes = (s: ChaosSettings): TroupeChaos[] => [
  { name: 'troupe ×2, thread, handoff', flags: ['--workers', '2', '--placement', 'thread'] },
  { name: 'troupe ×2, process, handoff', flags: ['--workers', '2', '--placement', 'process'] },
  ...(s.short
    ? []
    : [{ name: 'troupe ×2, thread, reuseport', flags: ['--workers', '2', '--strategy', 'reuseport'] }]),
]
const peers = (s: ChaosSettings): Contender[] => {
  if (s.short) return []
  const noGunicorn = gunicornMissing()
  return [pm2(2), gunicorn(2, undefined, noGunicorn), gunicorn(2, 4, noGunicorn)]
}

const MIGRATE = '/proc/sys/net/ipv4/tcp_migrate_req'
const migrateReq = (): string => {
  try {
    return readFileSync(MIGRATE, 'utf8').trim()
  } catch {
    return 'unknown'
  }
}

interface Outcome {
  readonly row: Record<string, string>
  readonly target?: Target
}

const underReloads = async (
  settings: ChaosSettings,
  name: string,
  start: () => Promise<Running>,
  close: boolean,
  isTroupe: boolean,
  progress: (line: string) => void,
): Promise<Outcome> => {
  const reloads = reloadsOf(settings)
  const load = describeLoad({ connections: CONNECTIONS, close })
  let server: Running | undefined
  try {
    server = await start()
    const seconds = BEFORE + reloads + AFTER
    const done = startLoad({ port: server.port, seconds, connections: CONNECTIONS, close })
    await sleep(BEFORE * 1_000)
    for (let i = 0; i < reloads; i++) {
      process.kill(server.pid, 'SIGHUP')
      await sleep(1_000)
    }
    const result = await done
    const events = server.events()
    const finished = events.filter((e) => e.event === 'reload.done').length
    const failedReloads = events.filter((e) => e.event === 'reload.failed').length
    progress(`${name}, ${load}: ${whole(result.sent)} sent, ${result.failed} failed`)
    const row = {
      server: name,
      load,
      reloads: isTroupe
        ? `${finished} done of ${reloads}${failedReloads ? `, ${failedReloads} failed` : ''}`
        : `${reloads} asked`,
      sent: whole(result.sent),
      failed: String(result.failed),
      'socket errors': String(result.run.socketErrors),
      'non-2xx': String(result.run.non2xx),
      'req/s': fixed(result.run.rps, 0),
    }
    if (!isTroupe) return { row }
    // Reuseport without the kernel's migration loses what a closing listener had queued: that is
    // the machine's setting, shown by the row with it set, not a troupe bound.
    const unmigrated =
      name.includes('reuseport') && !name.includes('tcp_migrate_req=1') && migrateReq() === '0'
    return {
      row,
      target: {
        what: `${reloads} reloads, ${name}, ${load}: failed requests`,
        measured: `${result.failed} of ${whole(result.sent)} (${finished} reloads done, ${failedReloads} failed)`,
        bound: '0, no reload failed',
        met: unmigrated ? undefined : result.failed === 0 && failedReloads === 0 && finished >= 1,
        ...(unmigrated
          ? {
              note: 'net.ipv4.tcp_migrate_req=0: a closing reuseport listener resets its queued connections; see the tcp_migrate_req=1 rows',
            }
          : {}),
      },
    }
  } catch (error) {
    const why = (error as Error).message.split('\n')[0]!
    return {
      row: {
        server: name,
        load,
        reloads: '—',
        sent: '—',
        failed: '—',
        'socket errors': '—',
        'non-2xx': '—',
        'req/s': why,
      },
      ...(isTroupe
        ? { target: { what: `reloads, ${name}, ${load}`, measured: why, bound: '0 failed', met: false } }
        : {}),
    }
  } finally {
    await server?.stop()
  }
}

export const reloads: Fault = {
  name: 'reloads',
  title: 'Reloads under load (HUP every second), beside PM2 and gunicorn',
  estimate: (s) =>
    (troupes(s).length + peers(s).length) * 2 * (BEFORE + reloadsOf(s) + AFTER + 4) +
    (s.short || migrateReq() !== '0' ? 0 : 2 * (BEFORE + reloadsOf(s) + AFTER + 4)),
  run: async (settings, progress) => {
    const rows: Record<string, string>[] = []
    const targets: Target[] = []
    const commands = new Set<string>()
    const add = (outcome: Outcome) => {
      rows.push(outcome.row)
      if (outcome.target) targets.push(outcome.target)
    }
    for (const close of [false, true]) {
      commands.add(
        `${wrkArgv({ port: 0, seconds: BEFORE + reloadsOf(settings) + AFTER, connections: CONNECTIONS, close }).join(' ')} (PORT: the server's)`,
      )
      for (const t of troupes(settings))
        add(await underReloads(settings, t.name, () => startTroupe(t), close, true, progress))
      for (const peer of peers(settings)) {
        if (peer.missing) {
          rows.push({
            server: peer.name,
            load: describeLoad({ connections: CONNECTIONS, close }),
            reloads: '—',
            sent: '—',
            failed: '—',
            'socket errors': '—',
            'non-2xx': '—',
            'req/s': `skipped: ${peer.missing}`,
          })
          continue
        }
        commands.add(peer.argv.join(' '))
        add(await underReloads(settings, peer.name, () => startPeer(peer), close, false, progress))
      }
    }
    // Reuseport without the kernel's migration: what a listener closing on reload had queued.
    const migrate = migrateReq()
    if (!settings.short && migrate === '0' && process.getuid?.() === 0) {
      const t = troupes(settings).find((x) => x.flags.includes('reuseport'))!
      writeFileSync(MIGRATE, '1')
      try {
        for (const close of [false, true])
          add(
            await underReloads(
              settings,
              `${t.name}, tcp_migrate_req=1`,
              () => startTroupe(t),
              close,
              true,
              progress,
            ),
          )
      } finally {
        writeFileSync(MIGRATE, '0')
      }
    }
    const finding: Finding = {
      title: `${reloadsOf(settings)} reloads, one a second, under wrk (${CONNECTIONS} connections)`,
      method: `wrk -t1 -c${CONNECTIONS} for ${BEFORE + reloadsOf(settings) + AFTER} s; HUP to the server (PM2: \`pm2 reload\`) every second from ${BEFORE} s on. Failed = wrk's socket errors + non-2xx. Unpinned. net.ipv4.tcp_migrate_req was ${migrate} on this machine.`,
      rows,
      targets,
      commands: [...commands],
    }
    return [finding]
  },
}
