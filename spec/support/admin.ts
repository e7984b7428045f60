/**
 * The test's side of the admin listener (`--admin`): one GET with or without a bearer token,
 * and the samples of a Prometheus exposition.
 */
import http from 'node:http'

export interface AdminAnswer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** `http://HOST:PORT` or `unix:PATH`, as the master's `admin on …` line says. */
export type AdminTarget = string

/** The admin URL from the master's `admin on URL (…)` line in `stderr`, if logged. */
export const parseAdminLine = (stderr: string): AdminTarget | undefined =>
  /^troupe(?: \S+)?: admin on (\S+) /m.exec(stderr)?.[1]

export const adminGet = (
  target: AdminTarget,
  pathname: string,
  options: { readonly token?: string; readonly authorization?: string } = {},
): Promise<AdminAnswer> =>
  new Promise((resolve, reject) => {
    const where = target.startsWith('unix:')
      ? { socketPath: target.slice('unix:'.length) }
      : { host: new URL(target).hostname, port: Number(new URL(target).port) }
    const authorization = options.authorization ?? (options.token ? `Bearer ${options.token}` : undefined)
    const request = http.get(
      {
        ...where,
        path: pathname,
        agent: false,
        timeout: 5_000,
        headers: authorization ? { authorization } : {},
      },
      (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          body += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }))
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error(`no answer from ${target}${pathname} within 5 s`)))
    request.on('error', reject)
  })

/**
 * The value of one series (`name` or `name{label="v",…}` exactly as exposed), or undefined
 * when the exposition has no such line.
 */
export const sample = (exposition: string, series: string): number | undefined => {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}
