/**
 * The chaos suite's short form (`npm run chaos -- --short`, spec/chaos/), run as CI runs the
 * tests: every fault under load against troupe as the package ships, both placements. It
 * passes when every bound on what users lose holds (failed requests, exit reasons, leftovers,
 * restarts counted); bounds on time are reported by it but decided only by the full run.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const root = fileURLToPath(new URL('../', import.meta.url))

it('npm run chaos -- --short: every bound on what users lose holds', () => {
  if (!['/usr/bin/wrk', '/usr/local/bin/wrk'].some(existsSync))
    throw new Error('the chaos suite needs wrk: apt-get install -y wrk (.ci/run installs it)')
  const run = spawnSync(process.execPath, ['spec/chaos/chaos.ts', '--short'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 900_000,
  })
  const output = `${run.stdout}\n${run.stderr}`
  const missed = output
    .split('\n')
    .filter((line) => line.includes('| MISSED |') && !line.includes('(timing)'))
  expect(missed, output.slice(-6_000)).toEqual([])
  expect(run.status, output.slice(-6_000)).toBe(0)
}, 960_000)
