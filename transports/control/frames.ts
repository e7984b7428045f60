/**
 * Messages over a stream socket: each frame is a 4-byte big-endian length and a value in V8's
 * structured serialisation (what worker_threads and `serialization: 'advanced'` IPC use), so
 * the control socket carries the same values a thread or process boundary does.
 */
import type { Socket } from 'node:net'
import { deserialize, serialize } from 'node:v8'

/** Larger than any tree or stats snapshot; a peer that announces more is not speaking this protocol. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024

export class FrameError extends Error {
  override readonly name = 'FrameError'
}

export const encodeFrame = (value: unknown): Buffer => {
  const body = serialize(value)
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(body.length)
  return Buffer.concat([head, body])
}

/**
 * Calls `onFrame` with each value as it completes. A malformed frame (too large, or not
 * deserialisable) destroys the socket with a FrameError: the stream cannot be resynchronised.
 */
export const readFrames = (socket: Socket, onFrame: (value: unknown) => void): void => {
  let pending: Buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0)
      if (length > MAX_FRAME_BYTES) {
        socket.destroy(new FrameError(`a frame of ${length} bytes is over the ${MAX_FRAME_BYTES} byte limit`))
        return
      }
      if (pending.length < 4 + length) return
      const body = pending.subarray(4, 4 + length)
      pending = pending.subarray(4 + length)
      let value: unknown
      try {
        value = deserialize(body)
      } catch (error) {
        socket.destroy(new FrameError(`a frame could not be read: ${(error as Error).message}`))
        return
      }
      onFrame(value)
    }
  })
}
