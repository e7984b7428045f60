/**
 * The control socket of a master started by `troupe serve`: claimed before the workers start
 * (so a name already in use is refused at once), served once the server is up.
 */
import type { ResolvedConfig } from '../config.ts'
import type { Server } from '../master.ts'
import { troupeVersion } from '../version.ts'
import { type ControlOptions, type ControlServer, claim, openControl } from './control-server.ts'
import { controlPathFor } from './socket-path.ts'

export type Claimed = Pick<ControlOptions, 'path' | 'isDefault' | 'log' | 'replaces'>

/** Checks the socket's path can be ours; null when `--control none`. */
export const claimControl = async (
  config: ResolvedConfig,
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
): Promise<Claimed | null> => {
  const path = controlPathFor(config.control, config.name)
  if (path === null) return null
  const upgradeFrom = Number(env.TROUPE_UPGRADE_FROM)
  const claimed: Claimed = {
    path,
    isDefault: config.control === null,
    log,
    ...(Number.isInteger(upgradeFrom) && upgradeFrom > 0 ? { replaces: upgradeFrom } : {}),
  }
  await claim(claimed)
  return claimed
}

export const serveControl = async (claimed: Claimed, server: Server): Promise<ControlServer> =>
  openControl({ ...claimed, version: troupeVersion(), instance: () => server.info(), api: server.control })
