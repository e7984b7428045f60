/**
 * Engines run the app for one request. `coroutine`: on the worker's own event loop.
 * `threads`: on a piscina pool, one request per pool thread at a time.
 */
import type { AppContext, ResolvedApp } from '../../apps/app.ts'
import { toRequest, writeResponse } from '../../transports/http/http-fetch.ts'
import type { WorkerArgs } from './worker-protocol.ts'
import { type Engine, settled } from './worker-server.ts'

export interface EngineHandle {
  readonly run: Engine
  close(): Promise<void>
}

const done = () => {}

export const coroutineEngine = (app: ResolvedApp, ctx: AppContext, args: WorkerArgs): EngineHandle => {
  if (app.style === 'node') {
    const handler = app.handler!
    return {
      // The handler owns the response; a throw (or a rejected promise) becomes a 500.
      run: (req, res) => {
        try {
          const result = handler(req, res) as unknown
          return result instanceof Promise ? result.then(done) : settled
        } catch (error) {
          return Promise.reject(error)
        }
      },
      close: async () => {},
    }
  }
  const fetch = app.fetch!
  const max = args.maxBodySize
  const write = (response: Response, res: Parameters<Engine>[1]) => writeResponse(response, res) ?? settled
  return {
    // A Response given at once and written at once (a kept body) costs no promise.
    run: (req, res, request) => {
      try {
        const answer = fetch(toRequest(req, request, max), ctx)
        return answer instanceof Promise
          ? answer.then((response) => write(response, res))
          : write(answer, res)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    close: async () => {},
  }
}
