/**
 * `npm run chaos`: every fault of spec/chaos/faults/, one after another, each repeated under
 * real load, counting what users would see fail; a table per fault, the bounds troupe is held
 * to, and (on a full run) the whole run written to CHAOS.md. troupe runs as the package ships
 * (dist/, built first).
 *
 *   npm run chaos                         full run, with PM2's and gunicorn's columns; writes CHAOS.md
 *   npm run chaos -- --short              the short form (CI): fewer repetitions, troupe only
 *   npm run chaos -- --only reloads,kills one or more faults by name
 *   --out FILE                            write the report there (any form)
 *
 * Exits 1 when a bound was not held (in the short form, bounds on time are reported only).
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildDist, flags, root } from '../bench/runner.ts'
import { choose, runSuite } from '../bench/suite.ts'
import { type ChaosSettings, isTiming } from './fault.ts'
import { faults } from './faults/index.ts'

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  console.log(
    `Usage: npm run chaos -- [--short] [--only ${faults.map((f) => f.name).join(',')}] [--out FILE]`,
  )
  process.exit(0)
}
const settings: ChaosSettings = { short: values.short === true }
const chosen = choose(faults, values.only)
const failedBuild = buildDist()
if (failedBuild) {
  console.error(failedBuild)
  process.exit(1)
}
const bounds = await runSuite({
  label: 'troupe chaos',
  scenarios: chosen,
  settings,
  described: settings.short ? 'short form' : 'full form',
  ...(values.out || !(settings.short || values.only) ? { out: values.out ?? join(root, 'CHAOS.md') } : {}),
  heading: 'Chaos',
  preface:
    'Every fault ran under real load (wrk or the suite’s own clients) against real servers; failed = what the clients saw fail (spec/chaos/README.md says how).',
  command: 'npm run chaos',
})
const broken = bounds.filter((b) => b.met === false && !(settings.short && isTiming(b)))
if (broken.length > 0 || flags.length > 0) {
  console.log(`\n${broken.length} bound(s) not held${flags.length ? `, ${flags.length} flag(s)` : ''}`)
  process.exit(1)
}
