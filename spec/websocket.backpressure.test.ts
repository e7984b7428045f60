/**
 * A slow reader: the app floods a WebSocket client that stopped reading. The app must feel it —
 * its `bufferedAmount` grows and its send callbacks stall — rather than the bytes piling up in
 * the worker's socket or in the master's relay out of the app's sight; and once the client
 * reads again, every byte arrives, in order. Over TCP in both placements, and over a `unix:`
 * bind with thread workers, where the master relays the bytes with an ack window.
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { FLOOD_CHUNK, floodChunk } from './fixtures/flood-app.ts'
import { eventually } from './support/manual-clock.ts'
import { fixturePath, startTestServer } from './support/serve.ts'
import { connect } from './support/ws-client.ts'

/** 32 MB: well past what the kernel's socket buffers (and the relay's window) can hold. */
const CHUNKS = 512
const TOTAL = CHUNKS * FLOOD_CHUNK

interface Status {
  readonly sent: number
  readonly written: number
  readonly bufferedAmount: number
}

const askStatus = (target: { port: number } | { socketPath: string }): Promise<Status> =>
  new Promise((resolve, reject) => {
    const req = http.request({ ...target, host: '127.0.0.1', path: '/status', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        body += chunk
      })
      res.on('end', () => resolve(JSON.parse(body) as Status))
    })
    req.on('error', reject)
    req.end()
  })

describe.each([
  ['thread', 'tcp'],
  ['process', 'tcp'],
  ['thread', 'unix'],
] as const)('%s workers over %s', (placement, transport) => {
  it('a client that stops reading holds the app back (bufferedAmount grows, sends stall); when it reads again every byte arrives in order', async () => {
    const socketPath =
      transport === 'unix'
        ? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-flood-')), 'app.sock')
        : undefined
    const { port } = await startTestServer({
      app: fixturePath('flood-app.ts'),
      placement,
      ...(socketPath ? { bind: [`unix:${socketPath}`] } : {}),
    })
    const target = socketPath ? { socketPath } : { port }
    const client = await connect(socketPath ? `ws+unix://${socketPath}:/` : `ws://127.0.0.1:${port}/`)
    onTestFinished(() => client.ws.terminate())
    expect(client.hello).toBe('hello')

    client.ws.pause()
    client.ws.send(`flood ${CHUNKS}`)
    await eventually(async () => (await askStatus(target)).sent === TOTAL, 20_000, 'the app to send it all')
    // Until nothing more leaves the app for half a second: the client's buffers and the relay's are full.
    let last = { flushed: -1, since: 0 }
    const stalled = await eventually(
      async () => {
        const status = await askStatus(target)
        const flushed = status.sent - status.bufferedAmount
        if (flushed !== last.flushed) last = { flushed, since: Date.now() }
        return Date.now() - last.since >= 500 && status
      },
      20_000,
      'the flow to stall',
    )
    // Most of the stream is still the app's to hold: neither the worker's socket nor the master's
    // relay took it out of the app's sight, and the app's send callbacks wait.
    expect(stalled.bufferedAmount).toBeGreaterThan(TOTAL / 2)
    expect(stalled.written).toBeLessThan(TOTAL / 2)

    client.ws.resume()
    await eventually(() => client.messages.length >= CHUNKS, 60_000, 'every chunk to arrive')
    expect(client.messages.length).toBe(CHUNKS)
    const wrong = client.messages.findIndex((message, i) => !floodChunk(i).equals(message as Buffer))
    expect(wrong).toBe(-1)
    const drained = await eventually(
      async () => {
        const status = await askStatus(target)
        return status.written === TOTAL && status
      },
      10_000,
      'every send to complete',
    )
    expect(drained.bufferedAmount).toBe(0)
  }, 120_000)
})
