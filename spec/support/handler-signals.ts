/**
 * The test's side of spec/fixtures/handler-signals.ts: files in a temp dir that a fixture app
 * writes when a request starts, and a gate the test opens to let held requests finish.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { onTestFinished } from 'vitest'
import { eventually } from './manual-clock.ts'

export interface HandlerSignals {
  /** `started=…` for a request URL: the handler says when it begins. */
  readonly started: string
  /** `started=…&gate=…`: the handler says when it begins, then waits for `open()`. */
  readonly held: string
  /** The lines written so far, one per started request (the fixture writes who served it). */
  lines(): string[]
  /** Waits until at least `n` requests started; returns the lines. */
  waitStarted(n?: number, ms?: number): Promise<string[]>
  /** Waits for a line that `match` accepts (a request served by a given worker or generation). */
  waitFor(match: (line: string) => boolean, what: string, ms?: number): Promise<string>
  /** Lets held requests finish. */
  open(): void
}

export const handlerSignals = (): HandlerSignals => {
  const dir = mkdtempSync(path.join(tmpdir(), 'troupe-signals-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const startedFile = path.join(dir, 'started')
  const gateFile = path.join(dir, 'gate')
  const lines = () =>
    existsSync(startedFile) ? readFileSync(startedFile, 'utf8').split('\n').slice(0, -1) : []
  const started = `started=${encodeURIComponent(startedFile)}`
  return {
    started,
    held: `${started}&gate=${encodeURIComponent(gateFile)}`,
    lines,
    waitStarted: (n = 1, ms = 10_000) =>
      eventually(
        () => {
          const seen = lines()
          return seen.length >= n && seen
        },
        ms,
        `${n} request(s) to start`,
      ),
    waitFor: (match, what, ms = 15_000) => eventually(() => lines().find(match), ms, what),
    open: () => appendFileSync(gateFile, ''),
  }
}
