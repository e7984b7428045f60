/**
 * `troupe check`: resolves the config exactly as `serve` does, loads the app and refuses what
 * serve would refuse; then prints every value and where it came from, one `key  value  (source)`
 * line each.
 */
import { pathToFileURL } from 'node:url'
import { loadApp, normalizeActors } from '../../apps/app.ts'
import { configKeys, type Resolved } from './config.ts'
import { optionTable } from './options.ts'
import { preflight } from './preflight.ts'

export const checkCommand = async (
  { config, sources }: Resolved,
  out: (line: string) => void,
): Promise<void> => {
  const app = await loadApp(pathToFileURL(config.app).href)
  preflight(config, app)
  const width = Math.max(...configKeys.map((k) => k.length))
  for (const key of configKeys) {
    const secret: boolean = 'secret' in optionTable[key] && config[key] !== null
    const value = secret
      ? '(set, not shown)'
      : key === 'socketMode'
        ? `0o${config.socketMode.toString(8)}`
        : JSON.stringify(config[key])
    out(`${key.padEnd(width)}  ${value}  (${sources[key]})`)
  }
  const names = (list: readonly { definition: { name: string } }[]) => list.map((a) => a.definition.name)
  out(
    `${'actors'.padEnd(width)}  ${JSON.stringify(names(normalizeActors(config.actors)))}  (${sources.actors})`,
  )
  out(`app ${app.name}: ${app.style} style, actors ${JSON.stringify(names(app.actors))}`)
}
