/**
 * `--pid FILE`: the master's pid, for scripts and service managers that signal it (`npm start`
 * does not pass signals on, so its own pid is the wrong target). Removed on exit, however the
 * master ends, unless another master has written the file since.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from '../errors.ts'

const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Writes this process's pid to `path` (`source` names where the path came from); returns the remover. */
export const writePidFile = (path: string, source: string): (() => void) => {
  const file = resolve(path)
  let previous: number | undefined
  try {
    previous = Number.parseInt(readFileSync(file, 'utf8'), 10)
  } catch {}
  if (previous && previous !== process.pid && running(previous))
    throw new ConfigError(
      `pid: ${file} holds pid ${previous}, which is running (from ${source}); is another master up?`,
    )
  try {
    writeFileSync(file, `${process.pid}\n`)
  } catch (error) {
    throw new ConfigError(`pid: cannot write ${file} (from ${source}): ${(error as Error).message}`, {
      cause: error,
    })
  }
  const remove = () => {
    process.off('exit', remove)
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file)
    } catch {}
  }
  process.on('exit', remove)
  return remove
}
