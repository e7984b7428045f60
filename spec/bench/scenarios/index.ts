/** Every scenario of `npm run bench`, in the order it runs them. */
import { fetchApp } from './fetch-app.ts'
import { nodeApp } from './node-app.ts'
import type { Scenario } from './scenario.ts'

export const scenarios: readonly Scenario[] = [fetchApp, nodeApp]
