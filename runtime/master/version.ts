import { readFileSync } from 'node:fs'

let cached: string | undefined

/** troupe's version, from its package.json. */
export const troupeVersion = (): string => {
  // From source this file is runtime/master/version.ts; built, it is in a chunk at dist/'s root.
  const up = import.meta.url.endsWith('.ts') ? '../../package.json' : '../package.json'
  cached ??= (JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { version: string }).version
  return cached
}
