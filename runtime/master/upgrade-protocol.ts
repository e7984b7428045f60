/**
 * What passes from an old master to the new one it starts on USR2, both sides in one file.
 * Everything goes through the new master's environment and descriptors, so the new master is
 * an ordinary process (no Node IPC channel): it outlives the old one like any other.
 *
 * - `TROUPE_INHERIT`: JSON, one entry per listener: `{ bind, address, fd?, role? }`: the address
 *   as asked for (`127.0.0.1:0`), as bound (`127.0.0.1:41234`), and the inherited descriptor of
 *   its listening socket (handoff; under reuseport there is none, the workers bind the port);
 *   `role: 'admin'` for the admin listener, whose descriptor always passes.
 * - `TROUPE_UPGRADE_READY_FD`: a descriptor (one end of a socket pair) on which the new master
 *   writes `ready\n` once its workers are ready, then closes it.
 * - `TROUPE_UPGRADE_FROM`: the old master's pid (the control socket takes its place from it).
 */
import { closeSync, writeSync } from 'node:fs'
import { ConfigError } from '../errors.ts'
import type { InheritedListener } from './master.ts'

export const INHERIT_ENV = 'TROUPE_INHERIT'
export const READY_FD_ENV = 'TROUPE_UPGRADE_READY_FD'
export const FROM_ENV = 'TROUPE_UPGRADE_FROM'

/** What the new master writes when it serves. */
export const READY_LINE = 'ready\n'

/** The variables an old master adds to the environment it starts its successor with. */
export const upgradeEnvironment = (
  listeners: readonly InheritedListener[],
  readyFd: number,
): Record<string, string> => ({
  [INHERIT_ENV]: JSON.stringify(listeners),
  [READY_FD_ENV]: String(readyFd),
  [FROM_ENV]: String(process.pid),
})

export interface Inheritance {
  readonly listeners: readonly InheritedListener[]
  /** The old master's pid. */
  readonly from: number
  /** Tells the old master this one serves (it then drains and exits). */
  ready(): void
}

const isListener = (value: unknown): value is InheritedListener => {
  const l = value as Partial<InheritedListener> | null
  return (
    typeof l?.bind === 'string' &&
    typeof l.address === 'string' &&
    (l.fd === undefined || (Number.isInteger(l.fd) && l.fd >= 3)) &&
    (l.role === undefined || l.role === 'admin')
  )
}

/**
 * The new master's side: what `env` says it inherits, or nothing when it was not started by
 * an upgrade. The descriptors' variables are taken out of `process.env`: the workers and the
 * next upgrade must not read them.
 */
export const readInheritance = (
  env: Readonly<Record<string, string | undefined>>,
): Inheritance | undefined => {
  const text = env[INHERIT_ENV]
  if (text === undefined) return undefined
  delete process.env[INHERIT_ENV]
  delete process.env[READY_FD_ENV]
  let listeners: unknown
  try {
    listeners = JSON.parse(text)
  } catch {}
  if (!Array.isArray(listeners) || !listeners.every(isListener))
    throw new ConfigError(`${INHERIT_ENV} is set by an upgrading master (USR2), and this one is not its JSON`)
  const readyFd = Number(env[READY_FD_ENV])
  return {
    listeners,
    from: Number(env[FROM_ENV]),
    ready: () => {
      if (!Number.isInteger(readyFd) || readyFd < 3) return
      // The old master may be gone already (killed): nobody to tell, nothing to fail.
      try {
        writeSync(readyFd, READY_LINE)
        closeSync(readyFd)
      } catch {}
    },
  }
}
