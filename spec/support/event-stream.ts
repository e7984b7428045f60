/**
 * A test's reader of a Server-Sent Events stream (the dashboard's `/events`): it collects every
 * event as it arrives and waits for one that matches.
 */
import http from 'node:http'

export interface StreamEvent {
  readonly event: string
  readonly data: unknown
}

export interface EventStream {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly events: readonly StreamEvent[]
  /** The first event (from the start of the stream) named `event` that `matches`, waiting up to `ms`. */
  next<T>(event: string, matches?: (data: T) => boolean, ms?: number): Promise<T>
  close(): void
}

/** Opens `GET url` (an `http://HOST:PORT/events`) with the given headers; resolves once the answer's head arrived. */
export const openEventStream = (url: string, headers: Record<string, string> = {}): Promise<EventStream> =>
  new Promise((resolve, reject) => {
    const events: StreamEvent[] = []
    const waiters = new Set<() => void>()
    const request = http.get(
      url,
      { headers: { accept: 'text/event-stream', ...headers }, agent: false },
      (res) => {
        let buffer = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buffer += chunk
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            let name = 'message'
            const data: string[] = []
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) name = line.slice(7)
              else if (line.startsWith('data: ')) data.push(line.slice(6))
            }
            if (data.length > 0) events.push({ event: name, data: JSON.parse(data.join('\n')) })
          }
          for (const wake of waiters) wake()
        })
        res.on('error', () => {})
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          events,
          next<T>(event: string, matches: (data: T) => boolean = () => true, ms = 10_000): Promise<T> {
            return new Promise((found, fail) => {
              const look = () => {
                const hit = events.find((e) => e.event === event && matches(e.data as T))
                if (!hit) return
                clearTimeout(timer)
                waiters.delete(look)
                found(hit.data as T)
              }
              const timer = setTimeout(() => {
                waiters.delete(look)
                fail(
                  new Error(
                    `no matching "${event}" event within ${ms} ms; got ${events.map((e) => e.event).join(', ')}`,
                  ),
                )
              }, ms)
              waiters.add(look)
              look()
            })
          },
          close: () => request.destroy(),
        })
      },
    )
    request.on('error', reject)
  })

/** `Authorization: Basic` for any user and the token as password, as a browser sends it. */
export const basic = (token: string, user = 'troupe'): string =>
  `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`
