/**
 * Process trees read from /proc, free of any side effect on import (runner.ts installs exit
 * and signal handlers; the launchers in this directory must not): a process and its
 * descendants, and a start time that tells a live process from a reused pid.
 */
import { readdirSync, readFileSync } from 'node:fs'

export interface Stat {
  readonly ppid: number
  /** Its start time (clock ticks since boot): the same pid with another start is another process. */
  readonly start: string
}
export const statOf = (pid: number): Stat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(rest[1]), start: rest[19]! }
  } catch {
    return undefined
  }
}

/** `pid` and all its descendants (ppid links read from /proc/*\/stat). */
export const processTree = (pid: number): number[] => {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = statOf(Number(entry))
    if (!stat) continue
    const list = children.get(stat.ppid) ?? []
    list.push(Number(entry))
    children.set(stat.ppid, list)
  }
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const next = queue.shift()!
    if (!statOf(next)) continue
    out.push(next)
    queue.push(...(children.get(next) ?? []))
  }
  return out
}
