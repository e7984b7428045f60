/** The faults of `npm run chaos`, in the order they run. */
import type { Fault } from '../fault.ts'
import { reloads } from './reloads.ts'

export const faults: readonly Fault[] = [reloads]
