/**
 * Imported first by cli.ts, so that it runs before the rest of the CLI loads (the logger, the
 * config loader). It turns on the compile cache and, for `troupe serve`, starts one worker
 * thread of the default shape booting now, on the other core (placement/early-thread.ts). The
 * config, read later, says whether it is used: thread placement with no heap limit takes it,
 * anything else ends it at once. One, as one worker is the default; serve() starts the rest of
 * a larger pool once it knows the count.
 */
import { enableCompileCache } from 'node:module'
import { startEarlyThreads } from '../placement/early-thread.ts'

/**
 * The http worker actor's module, what an early thread loads ahead: from source the `.ts` file;
 * from the build its own entry at the root of `dist/`, beside the cli bundle this is built into.
 */
export const httpWorkerEntry: URL = import.meta.url.endsWith('.ts')
  ? new URL('../../actors/http-worker/http-worker.ts', import.meta.url)
  : new URL('./http-worker.js', import.meta.url)

// V8's compiled code for troupe's modules (and the app's), kept on disk between starts: a
// second start and every worker spawned after it skip compiling them (~55 ms of a ~410 ms
// start measured here). Node's own switch: NODE_DISABLE_COMPILE_CACHE=1 turns it off. Turned
// on here, before the early thread starts, so that it compiles from the cache too.
enableCompileCache()

if (process.argv.slice(2).includes('serve')) startEarlyThreads(1, [httpWorkerEntry.href])
