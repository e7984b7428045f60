/**
 * The first frame each way on a control connection, before any comlink message: the master
 * says who it is and which protocol it speaks, the client answers with its own. A mismatch on
 * either side is refused with a line naming both versions, never a confusing failure later.
 */
import { ControlProtocolError } from '../../errors.ts'
import { CONTROL_PROTOCOL, type InstanceInfo } from './api.ts'

export interface MasterHello {
  readonly troupe: 'control'
  readonly protocol: number
  readonly version: string
  readonly instance: InstanceInfo
}

export interface ClientHello {
  readonly troupe: 'control'
  readonly protocol: number
  readonly version: string
}

/** Sent instead of going on when the client's hello is refused. */
export interface Refusal {
  readonly refused: string
}

export const isHello = (value: unknown): value is { troupe: 'control'; protocol: number; version: string } =>
  typeof value === 'object' &&
  value !== null &&
  (value as { troupe?: unknown }).troupe === 'control' &&
  typeof (value as { protocol?: unknown }).protocol === 'number'

export const isRefusal = (value: unknown): value is Refusal =>
  typeof value === 'object' && value !== null && typeof (value as { refused?: unknown }).refused === 'string'

/** Why `peer` cannot be talked to, or undefined when it can. */
export const mismatch = (peer: unknown, ours: string, theirs: 'master' | 'client'): string | undefined => {
  if (!isHello(peer)) return `the ${theirs} did not say hello: it is not a troupe control socket`
  if (peer.protocol === CONTROL_PROTOCOL) return undefined
  const other = theirs === 'master' ? 'this troupe' : 'the master'
  return `the ${theirs} (troupe ${peer.version}) speaks control protocol ${peer.protocol}, ${other} (troupe ${ours}) speaks ${CONTROL_PROTOCOL}: use the troupe that started the master`
}

export const protocolError = (why: string): Error => new ControlProtocolError(why)
