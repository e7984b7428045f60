/**
 * The Python servers troupe descends from, serving the same hello as a WSGI app
 * (hello_wsgi.py): (a) two workers each, keep-alive, not pinned — troupe against gunicorn's sync
 * workers (which close every connection: that is part of what is measured), its gthread workers
 * and uWSGI's `--http-socket` (a connection per request too), with uWSGI's keep-alive
 * `--http11-socket` for scale (no target); (b) one worker pinned with `Connection: close` — troupe in both placements against uWSGI, with bare node:http beside them as Node's floor. The ratio is
 * troupe ÷ the Python server in both. gunicorn and uWSGI are Debian packages, installed when
 * missing and this is root, else their rows are skipped with the reason.
 */
import { type Comparison, compareTable, comparisonSeconds, ratioTarget } from './compare.ts'
import { bareNode, gunicorn, gunicornMissing, troupe, uwsgi, uwsgiMissing } from './contenders.ts'
import type { Scenario } from './scenario.ts'

const troupeTwo = troupe('troupe ×2, thread placement', { app: 'hello-node.ts', workers: 2 })
const troupeOne = troupe('troupe ×1, thread placement', { app: 'hello-node.ts' })
const troupeOneProcess = troupe('troupe ×1, process placement', {
  app: 'hello-node.ts',
  placement: 'process',
})

/** The tables, for what this machine has (the peers' `missing` is only known at run time). */
const comparisons = (noGunicorn?: string, noUwsgi?: string): Comparison[] => {
  const peers = [
    gunicorn(2, undefined, noGunicorn),
    gunicorn(2, 4, noGunicorn),
    uwsgi(2, noUwsgi),
    // No target: uWSGI at its best under this load, for scale.
    uwsgi(2, noUwsgi, true),
  ]
  const uwsgiOne = uwsgi(1, noUwsgi)
  return [
    {
      title: `hello world, 2 workers each, keep-alive, not pinned: ${troupeTwo.name} against the Python servers`,
      // troupe is the baseline so that it runs once per round for all three; the ratios are turned
      // over to troupe ÷ each.
      baseline: troupeTwo,
      candidates: peers,
      load: { pin: false, close: false },
      inverse: true,
      targets: ([sync, gthread, uwsgiTwo]) => [
        ratioTarget(`2 workers, keep-alive: troupe ÷ ${peers[0]!.name}`, sync!, 3),
        ratioTarget(`2 workers, keep-alive: troupe ÷ ${peers[1]!.name}`, gthread!, 3),
        ratioTarget(`2 workers, keep-alive: troupe ÷ ${peers[2]!.name}`, uwsgiTwo!, 2),
      ],
    },
    {
      title: `hello world, 1 worker pinned, \`Connection: close\`: ${troupeOne.name} as a ratio to ${uwsgiOne.name}`,
      baseline: uwsgiOne,
      // bare node:http is Node's floor here, no target: what one event loop does with nothing
      // in front of it (no master, no handoff) bounds any Node server on this load.
      candidates: [troupeOne, troupeOneProcess, bareNode],
      load: { pin: true, close: true },
      targets: ([one, oneProcess], base) => [
        ratioTarget(
          `1 worker pinned, \`Connection: close\`: troupe (thread placement) ÷ ${uwsgiOne.name}`,
          one!,
          1.0,
          base.contender.missing,
        ),
        ratioTarget(
          `1 worker pinned, \`Connection: close\`: troupe (process placement) ÷ ${uwsgiOne.name}`,
          oneProcess!,
          1.0,
          base.contender.missing,
        ),
      ],
    },
  ]
}

export const python: Scenario = {
  name: 'python',
  title: 'The Python servers (gunicorn, uWSGI) against troupe',
  estimate: (s) => comparisons().reduce((sum, c) => sum + comparisonSeconds(s, c), 0),
  run: async (settings, progress) => {
    const findings = []
    for (const c of comparisons(gunicornMissing(), uwsgiMissing()))
      findings.push(await compareTable(settings, c, progress))
    return findings
  },
}
