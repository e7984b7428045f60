/** troupe's version, from its package.json: the master says it in `info()` and the metrics. */
import { readFileSync } from 'node:fs'

let version: string | undefined

export const troupeVersion = (): string => {
  // From source this file is runtime/master/version.ts; built, it is in a bundle at the root of dist/.
  const up = import.meta.url.endsWith('.ts') ? '../../package.json' : '../package.json'
  version ??= (JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { version: string }).version
  return version
}
