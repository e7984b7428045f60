/** "Did you mean": the candidate closest to what was typed, if any is close enough to be a typo. */

const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = row
  }
  return previous[b.length]!
}

export const suggest = (typed: string, candidates: readonly string[]): string | undefined => {
  const word = typed.toLowerCase()
  let best: { candidate: string; score: number } | undefined
  for (const candidate of candidates) {
    const score = candidate.startsWith(word) && word.length >= 2 ? 0.5 : distance(word, candidate)
    if (score <= Math.max(1, Math.floor(candidate.length / 3)) && (!best || score < best.score))
      best = { candidate, score }
  }
  return best?.candidate
}
