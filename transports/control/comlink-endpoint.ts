/**
 * comlink's Endpoint over a framed stream socket (frames.ts), so a comlink proxy can live on
 * the other end of a Unix socket. Nothing is transferable across it: values are copied.
 *
 * Errors cross with their troupe code: comlink's own handler keeps only name, message and
 * stack, and a CLI has to tell "no such worker" from "reload refused" by code.
 */
import type { Socket } from 'node:net'
import { type Endpoint, transferHandlers } from 'comlink'
import { deserializeError, type SerializedError, serializeError } from '../../runtime/errors.ts'
import { encodeFrame } from './frames.ts'

type Listener = (event: { data: unknown }) => void
type ListenerLike = Listener | { handleEvent: Listener }

/** Thrown values keep their `code` (and class, for troupe's catalogue) on the far side. */
const thrown = { value: undefined as unknown }
transferHandlers.set('throw', {
  canHandle: (value: unknown): value is typeof thrown =>
    typeof value === 'object' &&
    value !== null &&
    Object.getOwnPropertySymbols(value).length > 0 &&
    'value' in value,
  serialize: ({ value }: typeof thrown) => [serializeError(value), []],
  deserialize: (data: unknown) => {
    throw deserializeError(data as SerializedError)
  },
})

export interface SocketEndpoint extends Endpoint {
  /** Delivers a frame read from the socket to comlink's listeners. */
  deliver(data: unknown): void
}

export const socketEndpoint = (socket: Socket): SocketEndpoint => {
  const listeners = new Set<ListenerLike>()
  return {
    postMessage(message: unknown, transfer?: readonly unknown[]) {
      if (transfer && transfer.length > 0)
        throw new TypeError('the control socket copies values; nothing can be transferred across it')
      if (!socket.destroyed && socket.writable) socket.write(encodeFrame(message))
    },
    addEventListener(_type: string, listener: ListenerLike) {
      listeners.add(listener)
    },
    removeEventListener(_type: string, listener: ListenerLike) {
      listeners.delete(listener)
    },
    deliver(data: unknown) {
      for (const listener of listeners) {
        if (typeof listener === 'function') listener({ data })
        else listener.handleEvent({ data })
      }
    },
  } as unknown as SocketEndpoint
}
