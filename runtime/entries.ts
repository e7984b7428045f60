/**
 * Where the thread/process entry files are. From source (tests, `node` with type
 * stripping) they are the `.ts` files; from the published build they are bundles at the
 * root of `dist/`, next to the bundle this module was built into.
 */
const fromSource = import.meta.url.endsWith('.ts')

export const actorChildEntry: URL = fromSource
  ? new URL('./placement/actor-child.ts', import.meta.url)
  : new URL('./actor-child.js', import.meta.url)
