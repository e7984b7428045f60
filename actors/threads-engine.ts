/** The `threads` engine: each request runs on a piscina pool thread; a full queue answers 503. */
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { BroadcastChannel } from 'node:worker_threads'
import type { AppContext } from '../apps/app.ts'
import { serializeError } from '../runtime/errors.ts'
import type { RefTarget } from '../runtime/ref.ts'
import { BodyTooLargeError } from '../transports/http-fetch.ts'
import type { EngineHandle } from './engines.ts'
import {
  decodeAnswer,
  type RelayCall,
  type RelayReply,
  type ThreadPoolData,
  type ThreadTask,
} from './threads-protocol.ts'
import type { WorkerArgs } from './worker-protocol.ts'

const taskFile = import.meta.url.endsWith('.ts')
  ? new URL('./threads-task.ts', import.meta.url)
  : new URL('./threads-task.js', import.meta.url)

const readBody = async (req: IncomingMessage, max: number): Promise<ArrayBuffer | null> => {
  if (req.method === 'GET' || req.method === 'HEAD') return null
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > max) throw new BodyTooLargeError(`request body over ${max} bytes`)
    chunks.push(chunk)
  }
  if (size === 0) return null
  const body = Buffer.concat(chunks, size)
  return body.buffer.slice(body.byteOffset, body.byteOffset + size) as ArrayBuffer
}

/** Relays pool threads' messages for app actors to the master, and the answers back. */
const startRelay = (name: string, target: (path: string) => RefTarget): BroadcastChannel => {
  const channel = new BroadcastChannel(name)
  channel.unref()
  channel.onmessage = (event) => {
    const call = (event as unknown as { data: RelayCall | RelayReply }).data
    if (call.t !== 'call') return
    const ref = target(call.path)
    if (call.id === 0) {
      try {
        ref.tell(call.type, call.payload, undefined)
      } catch (error) {
        process.emitWarning(error as Error)
      }
      return
    }
    const answer = (reply: Omit<RelayReply, 't' | 'id' | 'thread'>) =>
      channel.postMessage({ t: 'reply', id: call.id, thread: call.thread, ...reply } satisfies RelayReply)
    ref.ask(call.type, call.payload, undefined).then(
      (value) => answer({ ok: true, value }),
      (error: unknown) => answer({ ok: false, error: serializeError(error) }),
    )
  }
  return channel
}

export const threadsEngine = async (
  args: WorkerArgs,
  ctx: AppContext,
  target: (path: string) => RefTarget,
): Promise<EngineHandle> => {
  // piscina is loaded only by workers of this kind.
  const { Piscina } = await import('piscina')
  const relayName = `troupe:relay:${process.pid}:${ctx.worker.threadId}:${ctx.worker.id}:${args.generation}`
  const relay = startRelay(relayName, target)
  const workerData: ThreadPoolData = {
    app: args.app,
    worker: ctx.worker,
    relay: relayName,
    actorsPath: args.actorsPath,
  }
  const pool = new Piscina({
    filename: taskFile.href,
    minThreads: args.threads,
    maxThreads: args.threads,
    // Bounded: a request that would wait behind this many others is shed with 503.
    maxQueue: args.threads * 4,
    concurrentTasksPerWorker: 1,
    workerData,
  })
  return {
    run: async (req, res, signal) => {
      const body = await readBody(req, args.maxBodySize)
      const task: ThreadTask = {
        method: req.method ?? 'GET',
        url: `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`,
        rawHeaders: req.rawHeaders,
        body,
      }
      let answer: ArrayBuffer
      try {
        answer = (await pool.run(task, {
          signal: signal(),
          transferList: (body ? [body] : []) as never,
        })) as ArrayBuffer
      } catch (error) {
        if (pool.queueSize >= args.threads * 4 || /queue is at limit/i.test((error as Error).message)) {
          if (!res.headersSent) {
            res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' })
            res.end('Service Unavailable: the thread pool queue is full\n')
          }
          return
        }
        throw error
      }
      if (res.writableEnded) return
      const { head, body: out } = decodeAnswer(answer)
      res.statusCode = head.status
      if (head.statusText) res.statusMessage = head.statusText
      const cookies: string[] = []
      for (const [name, value] of head.headers) {
        if (name === 'set-cookie') cookies.push(value)
        else res.setHeader(name, value)
      }
      if (cookies.length > 0) res.setHeader('set-cookie', cookies)
      res.setHeader('content-length', out.byteLength)
      if (!res.write(out)) await once(res, 'drain')
      res.end()
    },
    close: async () => {
      await pool.destroy()
      relay.close()
    },
  }
}
