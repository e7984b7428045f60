/**
 * A TCP socket that reached a worker thread by transfer (postMessage) arrives as a net.Socket
 * in V8's dictionary mode (`%HasFastProperties` false): every property read node:http makes
 * on it misses its inline cache. Measured on Node 26.10 with a bare node:http server in a
 * worker thread, one pinned core, `wrk -c50` keep-alive: 34.4k req/s on transferred sockets
 * against 38.2k on sockets the thread accepted itself (3 rounds, 0.90). The same handle put
 * in a new net.Socket serves at the accepted sockets' speed.
 */
import net from 'node:net'

type WithHandle = net.Socket & { _handle: unknown }

/**
 * The same connection in a fresh net.Socket, paused as the transferred one was (the acceptor
 * accepts with pauseOnConnect): the transferred object gives its handle up and is dropped.
 */
export const freshSocket = (transferred: net.Socket): net.Socket => {
  const handle = (transferred as WithHandle)._handle
  if (!handle || transferred.destroyed) return transferred
  ;(transferred as WithHandle)._handle = null
  return new net.Socket({ handle, pauseOnCreate: true } as unknown as net.SocketConstructorOpts)
}
