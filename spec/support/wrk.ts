import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { onTestFinished } from 'vitest'

export interface WrkResult {
  readonly requests: number
  /** wrk's socket errors by kind: connect, read, write, timeout. */
  readonly errors: {
    readonly connect: number
    readonly read: number
    readonly write: number
    readonly timeout: number
  }
  /** All socket errors, summed. */
  readonly socketErrors: number
  readonly non2xx: number
  readonly output: string
}

/** A wrk run under way: `stop()` ends it (SIGINT: wrk still prints its summary). */
export interface WrkRun {
  readonly done: Promise<WrkResult>
  stop(): Promise<WrkResult>
}

/** wrk is a Debian package (.ci/run installs it); a test that needs it says so plainly. */
export const requireWrk = () => {
  if (!['/usr/bin/wrk', '/usr/local/bin/wrk'].some(existsSync))
    throw new Error('this test needs wrk: apt-get install -y wrk (.ci/run installs it)')
}

/** wrk's summary; a run that made no request proves nothing, so it is refused. */
export const parseWrk = (output: string): WrkResult => {
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN)
  if (!(requests > 0)) throw new Error(`wrk made no request; its output:\n${output}`)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const [connect, read, write, timeout] = socket ? socket.slice(1).map(Number) : [0, 0, 0, 0]
  const errors = { connect: connect!, read: read!, write: write!, timeout: timeout! }
  return {
    requests,
    errors,
    socketErrors: connect! + read! + write! + timeout!,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    output,
  }
}

/**
 * Starts wrk against `url`. It runs until `stop()` (or `seconds`, a cap, by default 60), so a
 * test ends the load on an event rather than guessing how long its steps will take.
 */
export const startWrk = (
  url: string,
  options: { seconds?: number; connections?: number; threads?: number; close?: boolean } = {},
): WrkRun => {
  requireWrk()
  const args = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections ?? 16}`,
    `-d${options.seconds ?? 60}s`,
    '--timeout',
    '10s',
    ...(options.close ? ['-H', 'Connection: close'] : []),
    url,
  ]
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c) => {
    output += c
  })
  child.stderr.on('data', (c) => {
    output += c
  })
  const done = new Promise<WrkResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', () => {
      try {
        resolve(parseWrk(output))
      } catch (error) {
        reject(error)
      }
    })
  })
  done.catch(() => {})
  // A test that failed before stopping it must not leave wrk running.
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return {
    done,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      return done
    },
  }
}

/** Runs wrk against `url` for `seconds`; resolves with its counts (errors included). */
export const wrk = (
  url: string,
  options: { seconds: number; connections?: number; threads?: number; close?: boolean },
): Promise<WrkResult> => startWrk(url, options).done
