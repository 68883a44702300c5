import { distance } from 'fastest-levenshtein'

/** The closest task names to a mistyped one: edit distance within a third of its length, or a shared suffix. */
export function suggestTasks(name: string, known: readonly string[], max = 3): string[] {
  const threshold = Math.max(2, Math.floor(name.length / 3))
  return known
    .map((candidate) => ({ candidate, score: scoreOf(name, candidate) }))
    .filter(({ score }) => score <= threshold)
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map(({ candidate }) => candidate)
}

function scoreOf(name: string, candidate: string): number {
  const full = distance(name, candidate)
  // "publish" should find "deploy:publishing"'s neighbour "deploy:publish" even without the namespace.
  const last = candidate.split(':').at(-1) ?? candidate
  return Math.min(full, name.includes(':') ? full : distance(name, last) + 1)
}
