/** CPU time of a process (and its threads): utime + stime from /proc, in ms. */
import { readFileSync } from 'node:fs'

const TICK_MS = 10 // USER_HZ is 100 on Linux

export const cpuMs = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime, stime, cutime, cstime: fields 14–17 (1-based), 11–14 here; children that were waited for count too.
    return fields.slice(11, 15).reduce((sum, n) => sum + Number(n), 0) * TICK_MS
  } catch {
    return Number.NaN
  }
}
