/**
 * Distribution strategies: plain functions from the candidates to the chosen one, so a
 * strategy can be swapped without touching the acceptor.
 */
export interface Candidate {
  /** Its open connections: handed to it, or accepted by itself, and not yet closed. */
  readonly load: number
}

export type Balancer = <C extends Candidate>(candidates: readonly C[]) => C | undefined

/** The ready worker with the fewest open connections; ties go round-robin so none idles. */
export const leastLoaded = (): Balancer => {
  let turn = 0
  return (candidates) => {
    if (candidates.length === 0) return undefined
    turn = (turn + 1) % candidates.length
    let best = candidates[turn]!
    for (let i = 1; i < candidates.length; i++) {
      const c = candidates[(turn + i) % candidates.length]!
      if (c.load < best.load) best = c
    }
    return best
  }
}
