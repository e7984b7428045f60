/** Actors reaching each other by path, reporting status, and taking sockets, in every placement. */
import { once } from 'node:events'
import net from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Placement } from '../runtime/index.ts'
import { counter, greeter, relay } from './fixtures/actors.ts'
import { eventually } from './support/manual-clock.ts'
import { nodeAt, testSystem } from './support/system.ts'

const placements: Placement[] = ['local', 'thread', 'process']

describe.each(placements)('from the %s placement', (placement) => {
  it('asks and tells another actor through ctx.ref, with typed replies', async () => {
    const system = await testSystem()
    const target = await system.spawn(counter, { id: 'target', placement: 'thread', args: 100 })
    const ref = await system.spawn(relay, { placement, args: target.path })
    expect(await ref.ask('forward', 1)).toBe(101)
    ref.tell('tellForward', 10)
    await eventually(async () => (await target.ask('get')) === 111 || undefined)
    expect(await target.ask('get')).toBe(111)
  })

  it('hears why when the target does not exist (unhandled, it crashes the caller, as any throw would)', async () => {
    const system = await testSystem()
    const ref = await system.spawn(relay, { placement, args: '/troupe/nobody' })
    const error = await ref.ask('forward', 1).catch((e: Error) => e)
    expect(error).toMatchObject({ code: 'TROUPE_E_ACTOR_CRASHED' })
    expect((error as Error).message).toContain('no actor at /troupe/nobody')
  })

  it('a tell that cannot be delivered is written through the system log as TROUPE_W_TELL_FAILED', async () => {
    const lines: string[] = []
    const system = await testSystem({ log: (line) => lines.push(line) })
    const ref = await system.spawn(relay, { placement, args: '/troupe/nobody' })
    ref.tell('tellForward', 1)
    const line = await eventually(() => lines.find((l) => l.includes('TROUPE_W_TELL_FAILED')))
    expect(line).toBe(
      `warning: ${ref.path} → /troupe/nobody "add": no actor at /troupe/nobody [TROUPE_W_TELL_FAILED]`,
    )
  })

  it('reports status that the tree shows as info', async () => {
    const system = await testSystem()
    const ref = await system.spawn(relay, { placement, args: '/troupe/x' })
    await ref.ask('report', { requests: 3 })
    await eventually(() => nodeAt(system.tree(), ref.path)?.info?.requests === 3)
  })

  it('takes a socket moved to it and serves the connection', async () => {
    const system = await testSystem()
    const ref = await system.spawn(greeter, { placement })
    const server = net.createServer({ pauseOnConnect: true }, (socket) =>
      ref.tell('connection', socket, { transfer: [socket] }),
    )
    onTestFinished(() => {
      server.close()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as net.AddressInfo
    const read = async () => {
      const client = net.connect(port, '127.0.0.1')
      let text = ''
      for await (const chunk of client) text += chunk
      return text
    }
    const first = /^hello 1 from (\d+)\n$/.exec(await read())
    const pid = Number(first?.[1])
    if (placement === 'process') expect(pid).not.toBe(process.pid)
    else expect(pid).toBe(process.pid)
    expect(await read()).toBe(`hello 2 from ${pid}\n`)
  })
})
