/**
 * The acceptor and its balancer on a real listener (port 0), with worker slots that are
 * plain objects recording what they were handed: no worker behind them, nothing faked in the
 * acceptor itself.
 */
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Acceptor, type WorkerSlot } from '../actors/acceptor.ts'
import { leastLoaded } from '../actors/balance.ts'
import { type BindAddress, formatBind } from '../transports/http/listen.ts'
import type { NativeHandle } from '../transports/http/shared-socket.ts'
import { eventually } from './support/manual-clock.ts'

class RecordingSlot implements WorkerSlot {
  readonly path: string
  readonly generation: number
  ready = true
  load = 0
  refuse = false
  readonly handed: net.Socket[] = []
  acceptsUnix = false
  acceptsTcp = false
  remote = false
  readonly sharing = new Set<string>()
  /** Descriptors of the listeners it was given, with the listener's name. */
  readonly shared: Array<{ key: string; fd: number; backlog: number }> = []
  readonly unshared: string[] = []
  constructor(path: string, generation = 1) {
    this.path = path
    this.generation = generation
  }
  hand(socket: net.Socket): void {
    if (this.refuse) throw new Error('mailbox full')
    this.handed.push(socket)
    this.load++
  }
  share(bound: BindAddress, handle: NativeHandle, backlog: number): void {
    this.shared.push({ key: formatBind(bound), fd: handle.fd, backlog })
  }
  unshare(bound: BindAddress): Promise<void> {
    this.unshared.push(formatBind(bound))
    return Promise.resolve()
  }
}

const local: BindAddress = { kind: 'tcp', host: '127.0.0.1', port: 0 }

const acceptorFor = async (
  slots: readonly WorkerSlot[],
  extra: Partial<ConstructorParameters<typeof Acceptor>[0]> = {},
) => {
  const acceptor = new Acceptor({
    binds: [local],
    backlog: 64,
    queueLimit: 2,
    queueTimeout: 10_000,
    workers: () => slots,
    ...extra,
  })
  await acceptor.listen()
  onTestFinished(async () => {
    for (const slot of slots) for (const socket of (slot as RecordingSlot).handed) socket.destroy()
    await acceptor.close()
  })
  return { acceptor, port: (acceptor.addresses[0] as { port: number }).port }
}

/** Opens a client connection; closed when the test ends. */
const connect = (port: number): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.on('error', reject)
    onTestFinished(() => {
      socket.destroy()
    })
  })

const readAll = (socket: net.Socket): Promise<string> =>
  new Promise((resolve) => {
    let text = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk
    })
    socket.on('close', () => resolve(text))
  })

describe('leastLoaded', () => {
  it('picks the fewest open connections; equal loads take turns', () => {
    const pick = leastLoaded()
    const a = { name: 'a', load: 0 }
    const b = { name: 'b', load: 0 }
    const c = { name: 'c', load: 3 }
    const turns = Array.from({ length: 4 }, () => pick([a, b, c])!.name)
    expect(turns.sort()).toEqual(['a', 'a', 'b', 'b'])
    expect(
      pick([
        { name: 'x', load: 2 },
        { name: 'y', load: 1 },
      ])!.name,
    ).toBe('y')
    expect(pick([])).toBeUndefined()
  })
})

describe('Acceptor', () => {
  it('hands each connection to the least-loaded ready worker of the current generation', async () => {
    const busy = new RecordingSlot('/w/busy', 2)
    busy.load = 10
    const idle = [new RecordingSlot('/w/a', 2), new RecordingSlot('/w/b', 2)]
    const notReady = new RecordingSlot('/w/starting', 2)
    notReady.ready = false
    // A worker of the generation before: it drains and gets nothing new.
    const old = new RecordingSlot('/w/old', 1)
    const { acceptor, port } = await acceptorFor([busy, ...idle, notReady, old])
    acceptor.generation = 2
    for (let i = 0; i < 4; i++) await connect(port)
    await eventually(() => idle[0]!.handed.length + idle[1]!.handed.length === 4, 5_000, 'four handoffs')
    expect(idle.map((s) => s.handed.length)).toEqual([2, 2])
    expect([busy, notReady, old].map((s) => s.handed.length)).toEqual([0, 0, 0])
    expect(acceptor.info()).toMatchObject({ accepted: 4, refused: 0, queued: 0, generation: 2 })
  })

  it('a worker that refuses the socket is skipped for the next one', async () => {
    const refusing = new RecordingSlot('/w/full')
    refusing.refuse = true
    const taking = new RecordingSlot('/w/ok')
    taking.load = 5
    const { port } = await acceptorFor([refusing, taking])
    await connect(port)
    await eventually(() => taking.handed.length === 1, 5_000, 'the handoff to the other worker')
  })

  it('holds connections while no worker is ready, hands them over on flush, and answers 503 past the queue', async () => {
    const slot = new RecordingSlot('/w/later')
    slot.ready = false
    const { acceptor, port } = await acceptorFor([slot])
    await connect(port)
    await connect(port)
    await eventually(() => acceptor.info().queued === 2, 5_000, 'two waiting')
    const third = await connect(port)
    const answer = await readAll(third)
    expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/)
    expect(answer).toContain('Retry-After: 1')
    slot.ready = true
    acceptor.flush()
    expect(slot.handed).toHaveLength(2)
    expect(acceptor.info()).toMatchObject({ accepted: 3, refused: 1, queued: 0 })
  })

  it('rebind opens the new address before closing the old one; a bind that fails keeps the old set', async () => {
    const slot = new RecordingSlot('/w/a')
    const events: string[] = []
    const { acceptor, port } = await acceptorFor([slot], {
      onListen: (address) => events.push(`listen ${formatBind(address)}`),
      onUnlisten: (address) => events.push(`unlisten ${formatBind(address)}`),
    })
    events.length = 0
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      blocker.close()
    })
    const taken = (blocker.address() as net.AddressInfo).port
    // The first new address opens, the second cannot: the first is closed again, unannounced.
    await expect(
      acceptor.rebind([
        { kind: 'tcp', host: '127.0.0.3', port: 0 },
        { kind: 'tcp', host: '127.0.0.1', port: taken },
      ]),
    ).rejects.toMatchObject({ code: 'TROUPE_E_LISTEN' })
    expect(events).toEqual([])
    expect(acceptor.addresses.map(formatBind)).toEqual([`127.0.0.1:${port}`])
    await connect(port)

    await acceptor.rebind([{ kind: 'tcp', host: '127.0.0.2', port: 0 }])
    const moved = acceptor.addresses[0] as { host: string; port: number }
    expect(moved.host).toBe('127.0.0.2')
    expect(events).toEqual([`listen 127.0.0.2:${moved.port}`, `unlisten 127.0.0.1:${port}`])
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(moved.port, '127.0.0.2', () => resolve())
      socket.on('error', reject)
      onTestFinished(() => {
        socket.destroy()
      })
    })
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await eventually(() => slot.handed.length === 2, 5_000, 'both connections handed')
  })

  it('a unix listener is accepted on by the workers that can (threads), on descriptors of their own; the master accepts only for the others', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-acceptor-'))
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
    const socketPath = path.join(dir, 'shared.sock')
    const thread = new RecordingSlot('/w/thread')
    thread.acceptsUnix = true
    const slots: RecordingSlot[] = [thread]
    const acceptor = new Acceptor({
      binds: [{ kind: 'unix', path: socketPath }],
      backlog: 64,
      queueLimit: 2,
      queueTimeout: 10_000,
      workers: () => slots,
    })
    await acceptor.listen()
    onTestFinished(() => acceptor.close())
    acceptor.flush()
    await eventually(() => thread.shared.length === 1, 10_000, 'the thread worker given a descriptor')
    const [given] = thread.shared
    expect(given).toMatchObject({ key: `unix:${socketPath}`, backlog: 64 })
    // The "worker" accepts on its descriptor: every connection reaches it, none the master.
    const served: string[] = []
    const worker = net.createServer((socket) => {
      served.push('worker')
      socket.end('hi')
    })
    await new Promise<void>((resolve) => worker.listen({ fd: given!.fd }, resolve))
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(socketPath)
      expect(await readAll(socket)).toBe('hi')
    }
    expect(served).toHaveLength(5)
    expect(acceptor.info().accepted).toBe(0)
    // Closing the worker's descriptor leaves the socket open: a connection waits in the backlog.
    await new Promise((resolve) => worker.close(resolve))
    // A process worker joins: now the master accepts too, and hands it the connections.
    const proc = new RecordingSlot('/w/process')
    slots.push(proc)
    acceptor.flush()
    const late = net.connect(socketPath)
    onTestFinished(() => {
      late.destroy()
    })
    await eventually(
      () => proc.handed.length === 1,
      10_000,
      'the waiting connection handed to the process worker',
    )
    expect(acceptor.info().accepted).toBe(1)
    // Not relayed to the thread worker, which accepts there itself.
    expect(thread.handed).toHaveLength(0)
    proc.handed[0]!.destroy()
    await acceptor.close()
    expect(thread.unshared).toEqual([`unix:${socketPath}`])
    expect(fs.existsSync(socketPath)).toBe(false)
  })

  it('a TCP listener is accepted on by process workers themselves once they are ready; the master accepts again while none is', async () => {
    const proc = new RecordingSlot('/w/process')
    proc.acceptsTcp = true
    proc.remote = true
    const { acceptor, port } = await acceptorFor([proc])
    acceptor.flush()
    await eventually(() => proc.shared.length === 1, 10_000, 'the process worker given the socket')
    expect(proc.shared[0]).toMatchObject({ key: `127.0.0.1:${port}`, backlog: 64 })
    // The master no longer accepts: a connection waits in the backlog for a worker's accept.
    await connect(port)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(acceptor.info().accepted).toBe(0)
    // No worker ready (its process died): the master accepts again and holds the connection.
    proc.ready = false
    acceptor.flush()
    await eventually(() => acceptor.queued === 1, 10_000, 'the master to accept the waiting connection')
    // Ready again: what waited goes to it, and the master stops accepting.
    proc.ready = true
    acceptor.flush()
    expect(proc.handed).toHaveLength(1)
    proc.handed[0]!.destroy()
    await connect(port)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(acceptor.info().accepted).toBe(1)
    await acceptor.close()
    expect(proc.unshared).toEqual([`127.0.0.1:${port}`])
  })

  it('configure() applies a new socket mode to the Unix socket files already there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-acceptor-'))
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
    const socketPath = path.join(dir, 'a.sock')
    const acceptor = new Acceptor({
      binds: [{ kind: 'unix', path: socketPath }],
      backlog: 64,
      socketMode: 0o660,
      queueLimit: 2,
      queueTimeout: 10_000,
      workers: () => [],
    })
    await acceptor.listen()
    onTestFinished(() => acceptor.close())
    const mode = () => (fs.statSync(socketPath).mode & 0o777).toString(8)
    expect(mode()).toBe('660')
    acceptor.configure({ backlog: 64, socketMode: 0o600, queueLimit: 2, queueTimeout: 10_000 })
    expect(mode()).toBe('600')
  })

  it('close() answers the waiting connections 503 and stops listening', async () => {
    const slot = new RecordingSlot('/w/never')
    slot.ready = false
    const { acceptor, port } = await acceptorFor([slot])
    const waiting = await connect(port)
    await eventually(() => acceptor.info().queued === 1, 5_000, 'one waiting')
    const answer = readAll(waiting)
    await acceptor.close()
    expect(await answer).toMatch(/^HTTP\/1\.1 503 /)
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
