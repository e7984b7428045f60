import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

export interface WrkResult {
  readonly requests: number
  readonly socketErrors: number
  readonly non2xx: number
  readonly output: string
}

/** wrk is a Debian package (.ci/run installs it); a test that needs it says so plainly. */
export const requireWrk = () => {
  if (!['/usr/bin/wrk', '/usr/local/bin/wrk'].some(existsSync))
    throw new Error('this test needs wrk: apt-get install -y wrk (.ci/run installs it)')
}

/** Runs wrk against `url` for `seconds`; resolves with its counts (errors included). */
export const wrk = (
  url: string,
  options: { seconds: number; connections?: number; threads?: number; close?: boolean },
): Promise<WrkResult> => {
  requireWrk()
  const args = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections ?? 16}`,
    `-d${options.seconds}s`,
    '--timeout',
    '10s',
    ...(options.close ? ['-H', 'Connection: close'] : []),
    url,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c) => {
      output += c
    })
    child.stderr.on('data', (c) => {
      output += c
    })
    child.on('error', reject)
    child.on('exit', () => {
      const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN)
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
      const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0)
      resolve({ requests, socketErrors, non2xx, output })
    })
  })
}
