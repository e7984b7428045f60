/** The `threads` engine: each request runs on a piscina pool thread; a full queue answers 503. */
import type { IncomingMessage } from 'node:http'
import { BroadcastChannel } from 'node:worker_threads'
import type { AppContext } from '../../apps/app.ts'
import { answerCall } from '../../runtime/calls.ts'
import type { RefTarget } from '../../runtime/ref.ts'
import { warningLine } from '../../runtime/warnings.ts'
import { clientAddress } from '../../transports/http/client.ts'
import { BodyTooLargeError } from '../../transports/http/http-fetch.ts'
import { requestOrigin, setHead } from '../../transports/http/http2.ts'
import type { EngineHandle } from './engines.ts'
import {
  decodeAnswer,
  type RelayCall,
  type RelayReply,
  type ThreadPoolData,
  type ThreadTask,
} from './thread-pool-protocol.ts'
import { say } from './worker-log.ts'
import type { WorkerArgs } from './worker-protocol.ts'
import { plain, RequestTimeoutError } from './worker-server.ts'

const taskFile = import.meta.url.endsWith('.ts')
  ? new URL('./thread-pool-task.ts', import.meta.url)
  : new URL('./thread-pool-task.js', import.meta.url)

/**
 * The whole body, bounded. Past the bound the rest is still read and dropped (not the
 * connection destroyed) so that the client gets to read the 413.
 */
const readBody = (req: IncomingMessage, max: number): Promise<ArrayBuffer | null> => {
  if (req.method === 'GET' || req.method === 'HEAD') return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= max) chunks.push(chunk)
    })
    req.once('error', reject)
    req.once('end', () => {
      if (size > max) return reject(new BodyTooLargeError(`request body over ${max} bytes`))
      if (size === 0) return resolve(null)
      const body = Buffer.concat(chunks, size)
      resolve(body.buffer.slice(body.byteOffset, body.byteOffset + size) as ArrayBuffer)
    })
  })
}

/** Relays pool threads' messages for app actors to the master, and the answers back. */
const startRelay = (name: string, target: (path: string) => RefTarget): BroadcastChannel => {
  const channel = new BroadcastChannel(name)
  channel.unref()
  channel.onmessage = (event) => {
    const call = (event as unknown as { data: RelayCall | RelayReply }).data
    if (call.t !== 'call') return
    answerCall(
      call,
      target,
      (reply) => channel.postMessage({ ...reply, thread: call.thread } satisfies RelayReply),
      (error) =>
        say(
          warningLine('TROUPE_W_TELL_FAILED', `pool thread → ${call.path} "${call.type}": ${error.message}`),
          'warn',
          'warning',
        ),
    )
  }
  return channel
}

/**
 * piscina ends a running task by terminating its thread (and the next request pays for a
 * new one that re-imports the app). Worth it for a request past its timeout — the handler may
 * be stuck — but not for a client that went away: that task finishes and its answer is dropped.
 */
const timedOut = (signal: AbortSignal): AbortSignal => {
  const controller = new AbortController()
  if (signal.aborted && signal.reason instanceof RequestTimeoutError) controller.abort(signal.reason)
  signal.addEventListener(
    'abort',
    () => {
      if (signal.reason instanceof RequestTimeoutError) controller.abort(signal.reason)
    },
    { once: true },
  )
  return controller.signal
}

const shed = (res: import('node:http').ServerResponse) =>
  plain(res, 503, 'Service Unavailable: the thread pool queue is full\n', { 'retry-after': '1' })

export const threadPoolEngine = async (
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
  // Bounded: a request that would wait behind this many others is shed with 503. Counted
  // here, not left to piscina's queue alone: its balancer may hand a busy thread a second
  // task before the queue ever fills (seen with requests arriving one tick apart).
  const queueLimit = args.threadQueue
  let admitted = 0
  const pool = new Piscina({
    filename: taskFile.href,
    minThreads: args.threads,
    maxThreads: args.threads,
    maxQueue: queueLimit,
    concurrentTasksPerWorker: 1,
    workerData,
  })

  return {
    run: async (req, res, request) => {
      if (admitted >= args.threads + queueLimit) {
        shed(res)
        return
      }
      admitted++
      let answer: ArrayBuffer
      try {
        const body = await readBody(req, args.maxBodySize)
        const { scheme, host } = requestOrigin(req)
        const task: ThreadTask = {
          method: req.method ?? 'GET',
          url: `${scheme}://${host}${req.url ?? '/'}`,
          rawHeaders: req.rawHeaders,
          body,
          client: clientAddress(req)!,
        }
        answer = (await pool.run(task, {
          signal: timedOut(request.signal()),
          transferList: (body ? [body] : []) as never,
        })) as ArrayBuffer
      } catch (error) {
        if (/queue is at limit/i.test((error as Error).message)) {
          shed(res)
          return
        }
        throw error
      } finally {
        admitted--
      }
      if (res.writableEnded) return
      const { head, body: out } = decodeAnswer(answer)
      setHead(req, res, head.status, head.statusText, head.headers, () =>
        head.headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value),
      )
      // HEAD, 204 and 304 carry no body, and their Content-Length is the app's to say.
      const bodiless =
        req.method === 'HEAD' || head.status === 204 || head.status === 304 || head.status < 200
      if (!bodiless) res.setHeader('content-length', out.byteLength)
      res.end(bodiless ? undefined : out)
    },
    close: async () => {
      await pool.destroy()
      relay.close()
    },
  }
}
