/**
 * The helper that copies a listening socket's descriptor (for thread workers, and for the
 * master's own copy) must never leave a copy open that nobody owns: an open copy keeps the port
 * accepting connections into a queue no one reads, after the server stopped.
 */
import net from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { DescriptorCopier, handleOf } from '../transports/http/shared-socket.ts'

const listening = async () => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => {
    server.close()
  })
  return { server, port: (server.address() as net.AddressInfo).port }
}

/** ECONNREFUSED, or what happened instead. */
const connectOutcome = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.on('connect', () => {
      socket.destroy()
      resolve('accepted')
    })
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })

/** Holds the event loop, as a busy master would while the helper answers. */
const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

describe('DescriptorCopier', () => {
  it('a copy is a descriptor of the same listening socket; once closed, and the server too, the port is closed', async () => {
    const { server, port } = await listening()
    const copier = new DescriptorCopier(handleOf(server))
    const copy = await copier.copy()
    expect(copy.fd).toBeGreaterThan(2)
    expect(copy.fd).not.toBe(handleOf(server).fd)
    await copier.stop()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    // The copy alone keeps the socket listening.
    expect(await connectOutcome(port)).toBe('accepted')
    copy.close()
    expect(await connectOutcome(port)).toBe('ECONNREFUSED')
  })

  it('a copy that arrives after stop() is closed, not kept: the port closes with the server', async () => {
    const { server, port } = await listening()
    const copier = new DescriptorCopier(handleOf(server))
    const copying = copier.copy()
    copying.catch(() => {})
    // The helper starts and sends its copy back while this loop is held; stop() comes before
    // the copy is read.
    busy(1_500)
    const stopped = copier.stop()
    await expect(copying).rejects.toThrow(/closed before its descriptor was copied/)
    await stopped
    await new Promise<void>((resolve) => server.close(() => resolve()))
    // Let the late copy's message be read.
    await new Promise((r) => setTimeout(r, 100))
    expect(await connectOutcome(port)).toBe('ECONNREFUSED')
  })
})
