/**
 * A raw TCP connection to a server under test, for what a client library would hide:
 * pipelining, half-sent heads, the exact bytes of every answer. Destroyed when the test ends.
 */
import net from 'node:net'
import { onTestFinished } from 'vitest'

export interface RawConnection {
  readonly socket: net.Socket
  /** Everything the server has sent so far. */
  readonly received: string
  /** Settles when the connection closes (by either side, or on an error). */
  readonly closed: Promise<void>
}

export const rawConnection = (port: number): RawConnection => {
  const socket = net.connect(port, '127.0.0.1')
  onTestFinished(() => {
    socket.destroy()
  })
  let received = ''
  socket.on('data', (chunk) => {
    received += chunk
  })
  // A reset shows as a close with less received than a test expects: the assertion names it.
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return {
    socket,
    get received() {
      return received
    },
    closed,
  }
}

/** Sends raw bytes, returns everything the server sends until it closes the connection. */
export const rawExchange = async (port: number, bytes: string): Promise<string> => {
  const connection = rawConnection(port)
  connection.socket.write(bytes)
  await connection.closed
  return connection.received
}
