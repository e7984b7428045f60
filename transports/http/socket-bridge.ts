/**
 * A connection carried over a MessagePort. Node moves TCP sockets to worker threads but not
 * Unix-domain ones (ERR_WORKER_HANDLE_NOT_TRANSFERABLE in Node 26), so for a `unix:` bind
 * with thread workers the master keeps the socket and relays its bytes; inside the worker
 * a Duplex stands in for it, which node:http accepts as a connection.
 */

import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { MessageChannel, type MessagePort } from 'node:worker_threads'

/**
 * Bytes both ways, plus control: `end`/`destroy` both ways; `ack` (master → worker: that many
 * bytes reached the socket), `pause`/`resume` (worker → master: stop/restart reading), so a
 * slow client or a slow app holds the other side back instead of filling memory.
 */
type Frame =
  | Uint8Array
  | { readonly end: true }
  | { readonly destroy: true }
  | { readonly ack: number }
  | { readonly pause: true }
  | { readonly resume: true }

/** Bytes the worker may have written that the socket has not taken yet. */
const WINDOW = 256 * 1024

/**
 * Master side: a channel for `socket`. Move `port` to the worker, then call `start()` to
 * begin relaying (or `cancel()` if the worker refused it, so another can take the socket).
 */
export const bridge = (socket: Socket): { port: MessagePort; start(): void; cancel(): void } => {
  const { port1, port2 } = new MessageChannel()
  return {
    port: port2,
    start: () => relay(socket, port1),
    cancel: () => {
      port1.close()
      port2.close()
    },
  }
}

const relay = (socket: Socket, port1: MessagePort): void => {
  let open = true
  const shut = () => {
    if (!open) return
    open = false
    port1.close()
  }
  socket.on('data', (chunk: Buffer) => open && port1.postMessage(chunk))
  socket.on('end', () => open && port1.postMessage({ end: true } satisfies Frame))
  socket.on('close', () => {
    if (open) port1.postMessage({ destroy: true } satisfies Frame)
    shut()
  })
  socket.on('error', () => {})
  // The worker's side went (its thread ended): the client must not be left waiting.
  port1.on('close', () => {
    open = false
    socket.destroy()
  })
  port1.on('message', (frame: Frame) => {
    if (frame instanceof Uint8Array) {
      const size = frame.byteLength
      socket.write(frame, () => open && port1.postMessage({ ack: size } satisfies Frame))
    } else if ('end' in frame) socket.end()
    else if ('pause' in frame) socket.pause()
    else if ('resume' in frame) socket.resume()
    else if ('destroy' in frame) {
      socket.destroy()
      shut()
    }
  })
  socket.resume()
}

/** Worker side: the Duplex that node:http serves in place of the socket. */
export class BridgedSocket extends Duplex {
  readonly remoteAddress = undefined
  readonly remotePort = undefined
  readonly #port: MessagePort
  #timer: NodeJS.Timeout | undefined
  #timeoutMs = 0
  #unacked = 0
  #blocked: (() => void) | undefined
  #paused = false

  constructor(port: MessagePort) {
    super({ allowHalfOpen: true })
    this.#port = port
    port.on('message', (frame: Frame) => {
      this.#touch()
      if (frame instanceof Uint8Array) {
        const more = this.push(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength))
        if (!more && !this.#paused) {
          this.#paused = true
          this.#port.postMessage({ pause: true } satisfies Frame)
        }
      } else if ('ack' in frame) {
        this.#unacked -= frame.ack
        if (this.#blocked && this.#unacked < WINDOW) {
          const release = this.#blocked
          this.#blocked = undefined
          release()
        }
      } else if ('end' in frame) this.push(null)
      else if ('destroy' in frame) this.destroy()
    })
  }

  override _read(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#port.postMessage({ resume: true } satisfies Frame)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#touch()
    this.#port.postMessage(chunk)
    this.#unacked += chunk.byteLength
    // Past the window, the write completes only when the master's socket took enough.
    if (this.#unacked < WINDOW) callback()
    else this.#blocked = callback
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#port.postMessage({ end: true } satisfies Frame)
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer)
    try {
      this.#port.postMessage({ destroy: true } satisfies Frame)
    } catch {
      // the master side already went
    }
    this.#port.close()
    callback(error)
  }

  // The parts of net.Socket that node:http uses.
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeoutMs = ms
    if (callback) this.once('timeout', callback)
    this.#touch()
    return this
  }
  setNoDelay(): this {
    return this
  }
  setKeepAlive(): this {
    return this
  }
  ref(): this {
    return this
  }
  unref(): this {
    return this
  }

  #touch(): void {
    clearTimeout(this.#timer)
    if (this.#timeoutMs > 0 && !this.destroyed)
      this.#timer = setTimeout(() => this.emit('timeout'), this.#timeoutMs)
  }
}
