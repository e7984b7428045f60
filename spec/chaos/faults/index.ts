/** The faults of `npm run chaos`, in the order they run. */
import type { Fault } from '../fault.ts'
import { appActors } from './app-actors.ts'
import { badTraffic } from './bad-traffic.ts'
import { crashAtBoot } from './crash-at-boot.ts'
import { kills } from './kills.ts'
import { masterDeath } from './master-death.ts'
import { memory } from './memory.ts'
import { overload } from './overload.ts'
import { recycling } from './recycling.ts'
import { reloads } from './reloads.ts'
import { slowClients } from './slow-clients.ts'

export const faults: readonly Fault[] = [
  reloads,
  kills,
  recycling,
  overload,
  crashAtBoot,
  memory,
  masterDeath,
  badTraffic,
  appActors,
  slowClients,
]
