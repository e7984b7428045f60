import { cp } from 'node:fs/promises'
import { defineConfig } from 'tsup'

export default defineConfig({
  // Every entry lands at the root of dist/: runtime/entries.ts finds `./actor-child.js` next to
  // whichever bundle or chunk it was built into, and bin/exports point at these names.
  entry: {
    index: 'runtime/index.ts',
    'actor-child': 'runtime/placement/actor-child.ts',
    cli: 'runtime/master/cli.ts',
    // piscina loads its task file by path: actors/http-worker/thread-pool-engine.ts looks for ./thread-pool-task.js.
    'thread-pool-task': 'actors/http-worker/thread-pool-task.ts',
    // preflight.ts checks a reload's app in a thread running ./app-check.js.
    'app-check': 'runtime/master/app-check.ts',
    // Its own entry: a worker imports the chunk named by httpWorker's import.meta.url, and with
    // this entry that chunk (and what it imports) holds only what this entry reaches; without
    // it, that was the master's chunk, supervisor and control plane included.
    'http-worker': 'actors/http-worker/http-worker.ts',
  },
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  outDir: 'dist',
  // A thread or process loads both the user's app (through dist/index.js) and dist/actor-child.js;
  // shared chunks give them one copy of the runtime, so error classes and registries stay single.
  splitting: true,
  // crossws is the app's, imported only for an app with crossws hooks (apps/websocket-hooks.ts).
  external: ['effect', 'piscina', 'crossws'],
  // Keep `node:` specifiers: some builtins (node:sqlite, node:test) exist only under that prefix.
  removeNodeProtocol: false,
  // Declarations come from `tsc -p tsconfig.build.json`; tsup's dts does not run on TypeScript 7.
  dts: false,
  // The cli's `#!/usr/bin/env node` is the first line of runtime/master/cli.ts: esbuild keeps an entry's
  // hashbang and tsup marks that output executable, so only dist/cli.js carries it.
  clean: true,
  // The dashboard's page is plain browser files, served as they are: runtime/master/observe/dashboard/assets.ts
  // looks for ./dashboard/ next to whichever bundle or chunk it was built into.
  onSuccess: () => cp('runtime/master/observe/dashboard/page', 'dist/dashboard', { recursive: true }),
})
