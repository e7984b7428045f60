/**
 * `--pid FILE`: the master's pid, for scripts and service managers that signal it (`npm start`
 * does not pass signals on, so its own pid is the wrong target). Removed on exit, however the
 * master ends, unless another master has written the file since. During an upgrade (USR2) the
 * old master's pid is in `FILE.oldbin`, as with gunicorn and nginx, and FILE is the new one's.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from '../errors.ts'

/** Whether `pid` is a running process (ours or another user's). */
export const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface PidFile {
  /** The file's path. */
  readonly path: string
  /** Upgrade started: FILE becomes FILE.oldbin (the new master writes FILE); removed on exit from there. */
  setAside(): void
  /** Upgrade failed: FILE.oldbin becomes FILE again. */
  restore(): void
  /** Removes the file now (it holds this pid); also done on exit. */
  remove(): void
}

/** Writes this process's pid to `path` (`source` names where the path came from). */
export const writePidFile = (path: string, source: string): PidFile => {
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
  let current = file
  const remove = () => {
    process.off('exit', remove)
    try {
      if (readFileSync(current, 'utf8').trim() === String(process.pid)) unlinkSync(current)
    } catch {}
  }
  process.on('exit', remove)
  const move = (to: string) => {
    try {
      renameSync(current, to)
      current = to
    } catch {}
  }
  return {
    path: file,
    setAside: () => move(`${file}.oldbin`),
    restore: () => move(file),
    remove,
  }
}
