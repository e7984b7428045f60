/**
 * The `threads` engine: each request runs on a piscina pool thread, the requests of one turn
 * of the loop crossing together (thread-pool-protocol.ts says why); a full queue answers 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BroadcastChannel } from 'node:worker_threads'
import type { AppContext } from '../../apps/app.ts'
import { answerCall } from '../../runtime/calls.ts'
import type { RefTarget } from '../../runtime/ref.ts'
import { warningLine } from '../../runtime/warnings.ts'
import { clientAddress } from '../../transports/http/client.ts'
import { BodyTooLargeError } from '../../transports/http/http-fetch.ts'
import { isHttp2, setHead } from '../../transports/http/http2.ts'
import { requestUrl } from '../../transports/http/incoming-request.ts'
import type { EngineHandle } from './engines.ts'
import {
  decodeAnswers,
  encodeBatch,
  type RelayCall,
  type RelayReply,
  type ThreadAnswer,
  type ThreadAnswerHead,
  type ThreadPoolData,
  type ThreadTask,
} from './thread-pool-protocol.ts'
import { say } from './worker-log.ts'
import type { WorkerArgs } from './worker-protocol.ts'
import { plain, RequestTimeoutError, type TimeoutWatcher } from './worker-server.ts'

const taskFile = import.meta.url.endsWith('.ts')
  ? new URL('./thread-pool-task.ts', import.meta.url)
  : new URL('./thread-pool-task.js', import.meta.url)

/**
 * The whole body, bounded. Past the bound the rest is still read and dropped (not the
 * connection destroyed) so that the client gets to read the 413.
 */
const readBody = (req: IncomingMessage, max: number): Promise<ArrayBuffer | null> => {
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

const shed = (res: ServerResponse) =>
  plain(res, 503, 'Service Unavailable: the thread pool queue is full\n', { 'retry-after': '1' })

/** A request that shared a batch with one that timed out: its thread was ended with it. */
class BatchAbortedError extends Error {
  override readonly name = 'BatchAbortedError'
}

/**
 * A request on its way to a pool thread and back. piscina ends a running task by terminating
 * its thread (and the next request pays for a new one that re-imports the app): worth it for a
 * request past its timeout — the handler may be stuck — but not for a client that went away:
 * that task finishes and its answer is dropped.
 */
class Waiting implements TimeoutWatcher {
  readonly task: ThreadTask
  readonly answer: Promise<ThreadAnswer>
  resolve!: (answer: ThreadAnswer) => void
  reject!: (error: unknown) => void
  /** The batch it crossed in, whose thread a timeout ends. */
  batch: AbortController | undefined = undefined
  expired = false
  constructor(task: ThreadTask) {
    this.task = task
    this.answer = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }
  timedOut(): void {
    this.expired = true
    this.batch?.abort(new RequestTimeoutError('a request of this batch ran past its timeout'))
  }
}

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
  // here, per request: what waits is in this engine's queue, or a batch in piscina's (one per
  // thread at most, which its maxQueue leaves room for).
  const queueLimit = args.threadQueue
  let admitted = 0
  const pool = new Piscina({
    filename: taskFile.href,
    minThreads: args.threads,
    maxThreads: args.threads,
    maxQueue: queueLimit + args.threads,
    concurrentTasksPerWorker: 1,
    workerData,
  })

  /** A batch to one thread; a timeout of any of its requests ends the thread, and the batch with it. */
  const dispatch = (batch: readonly Waiting[]) => {
    const controller = new AbortController()
    for (const waiting of batch) waiting.batch = controller
    running++
    const { batch: message, transfer } = encodeBatch(batch.map((w) => w.task))
    pool.run(message, { signal: controller.signal, transferList: transfer as never }).then(
      (answer) => {
        running--
        const answers = decodeAnswers(answer as ArrayBuffer)
        for (const [i, waiting] of batch.entries()) waiting.resolve(answers[i]!)
        schedule()
      },
      (error: unknown) => {
        running--
        for (const waiting of batch)
          waiting.reject(
            controller.signal.aborted && !waiting.expired
              ? new BatchAbortedError('a request of the same batch ran past its timeout')
              : error,
          )
        schedule()
      },
    )
  }
  /** Requests not yet sent to a thread, oldest first. */
  let queue: Waiting[] = []
  /** Batches sent and not yet answered. */
  let running = 0
  let scheduled = false
  /**
   * While threads are idle, a request crosses alone, free to run beside the others. Past that,
   * each thread has at most one more batch waiting behind the one it runs (so it never waits
   * for the worker between two): what arrives meanwhile stays here and leaves as one batch
   * when a thread's answer comes back, spread over the threads. The fewer the batches, the
   * fewer the crossings: a hello world's were ~16 requests each when every turn of the loop
   * sent its own, and piscina's part of a crossing was as much as the rest of it. One that
   * timed out before it left (answered 504 already) stays behind.
   */
  const flush = () => {
    scheduled = false
    if (queue.some((w) => w.expired)) {
      for (const gone of queue)
        if (gone.expired) gone.reject(new RequestTimeoutError('timed out before it ran'))
      queue = queue.filter((w) => !w.expired)
    }
    while (queue.length > 0 && running < 2 * args.threads) {
      const size = running < args.threads ? 1 : Math.ceil(queue.length / args.threads)
      dispatch(queue.splice(0, size))
    }
  }
  /** At the end of this turn of the loop, where the turn's requests leave together. */
  const schedule = () => {
    if (scheduled || queue.length === 0) return
    scheduled = true
    setImmediate(flush)
  }
  const cross = (waiting: Waiting): Promise<ThreadAnswer> => {
    queue.push(waiting)
    schedule()
    return waiting.answer
  }

  return {
    run: async (req, res, request) => {
      if (admitted >= args.threads + queueLimit) {
        shed(res)
        return
      }
      admitted++
      let answer: ThreadAnswer
      try {
        const body =
          req.method === 'GET' || req.method === 'HEAD' ? null : await readBody(req, args.maxBodySize)
        // Its upload outlasted the timeout: answered 504 already.
        if (res.writableEnded) return
        const waiting = new Waiting({
          method: req.method ?? 'GET',
          url: requestUrl(req),
          rawHeaders: req.rawHeaders,
          body,
          client: clientAddress(req)!,
        })
        request.onTimeout(waiting)
        answer = await cross(waiting)
      } catch (error) {
        if (/queue is at limit/i.test((error as Error).message) || error instanceof BatchAbortedError) {
          shed(res)
          return
        }
        throw error
      } finally {
        admitted--
      }
      if (res.writableEnded) return
      const { head, body: out } = answer
      if (head.error !== undefined) throw new PoolThreadError(head.error)
      writeHead(req, res, head)
      // HEAD, 204 and 304 carry no body (the pool thread framed the others).
      const bodiless =
        req.method === 'HEAD' || head.status === 204 || head.status === 304 || head.status < 200
      res.end(bodiless ? undefined : out)
    },
    close: async () => {
      for (const waiting of queue.splice(0)) waiting.reject(new BatchAbortedError('the worker is closing'))
      await pool.destroy()
      relay.close()
    },
  }
}

/** HTTP/1 takes the flat list as it is (its fastest way in); HTTP/2 has no status text. */
const writeHead = (req: IncomingMessage, res: ServerResponse, head: ThreadAnswerHead): void => {
  const { status, statusText, headers } = head
  if (!isHttp2(req)) {
    if (statusText) res.writeHead(status, statusText, headers as string[])
    else res.writeHead(status, headers as string[])
    return
  }
  const pairs: Array<readonly [string, string]> = []
  const cookies: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'set-cookie') cookies.push(headers[i + 1]!)
    else pairs.push([headers[i]!, headers[i + 1]!])
  }
  // setHead writes every Set-Cookie from cookies() once it meets one.
  if (cookies.length > 0) pairs.push(['set-cookie', cookies[0]!])
  setHead(req, res, status, statusText, pairs, () => cookies)
}

/** The app failed on a pool thread: what reaches the worker's log is that thread's stack. */
class PoolThreadError extends Error {
  override readonly name = 'PoolThreadError'
  constructor(stack: string) {
    super(stack.split('\n')[0] ?? 'the app failed on a pool thread')
    this.stack = stack
  }
}
