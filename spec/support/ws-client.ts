/**
 * A `ws` client for the WebSocket tests: connects, keeps the server's greeting apart, then
 * every message it received (text as strings, binary as Buffers) and how and when it closed.
 */
import { WebSocket } from 'ws'
import { eventually } from './manual-clock.ts'

/** A client socket that keeps what it received and how it closed. */
export interface Client {
  readonly ws: WebSocket
  readonly hello: string
  readonly messages: (string | Buffer)[]
  closed?: { code: number; at: number }
}

/** Resolves once the server's first message (its greeting) arrived. */
export const connect = (url: string): Promise<Client> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const client: Client = { ws, hello: '', messages: [] }
    ws.once('message', (data) => {
      ;(client as { hello: string }).hello = data.toString()
      ws.on('message', (more, binary) => client.messages.push(binary ? (more as Buffer) : more.toString()))
      resolve(client)
    })
    ws.on('close', (code) => {
      client.closed = { code, at: performance.now() }
    })
    ws.once('error', reject)
  })

/** The `count`th message after the greeting, once it arrived. */
export const nextMessage = (client: Client, count: number) =>
  eventually(() => client.messages.length >= count && client.messages[count - 1], 10_000, `message ${count}`)
