/** Every scenario of `npm run bench`, in the order it runs them. */
import { fetchApp } from './fetch-app.ts'
import { memory } from './memory.ts'
import { nodeApp } from './node-app.ts'
import { python } from './python.ts'
import type { Scenario } from './scenario.ts'
import { spawn } from './spawn.ts'
import { threadsKind } from './threads-kind.ts'
import { twoWorkers } from './two-workers.ts'

export const scenarios: readonly Scenario[] = [
  fetchApp,
  nodeApp,
  threadsKind,
  twoWorkers,
  python,
  memory,
  spawn,
]
