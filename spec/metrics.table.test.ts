/**
 * One list of metrics: the table in runtime/master/observe/metric-table.ts is what `/metrics`
 * serves (every name, its type, nothing more under troupe_ but the master's own) and what the
 * README's metric table says.
 */
import { expect, it } from 'vitest'
import { MASTER_PREFIX, metricRows, metricTable } from '../runtime/master/observe/metric-table.ts'
import { adminGet } from './support/admin.ts'
import { readReadme } from './support/readme.ts'
import { serve } from './support/serve.ts'

it("the README's metric table lists every metric with its type, labels and meaning", () => {
  const readme = readReadme()
  const start = readme.indexOf('<!-- metric-table:start -->')
  const end = readme.indexOf('<!-- metric-table:end -->')
  expect(start).toBeGreaterThan(0)
  const documented = readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replaceAll('`', '')),
    )
    .map(([name, type, labels, help]) => ({ name, type, labels, help }))
  expect(documented).toEqual(metricRows())
})

it('/metrics serves exactly the metrics of the table, with their types', async () => {
  const { server } = await serve('behaviour-app.ts', { admin: '127.0.0.1:0' })
  const text = (await adminGet(`http://${server.info().admin}`, '/metrics')).body
  const served = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const)
  const own = served.filter(([name]) => !name.startsWith(MASTER_PREFIX))
  expect(own).toEqual(Object.entries(metricTable).map(([name, spec]) => [name, spec.type]))
  expect(served.some(([name]) => name === `${MASTER_PREFIX}process_cpu_seconds_total`)).toBe(true)
  // Every line of a family carries the family's name: nothing unprefixed leaks in.
  for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
    expect(line.startsWith('troupe_')).toBe(true)
})
