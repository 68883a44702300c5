// `mkdir -p` only when a directory is missing: the tests are shell builtins, so a host where all
// exist (every deploy after the first) forks no process for them.
import { quote } from '../ssh/quote.ts'

export function ensureDirectoriesCommand(paths: readonly string[]): string {
  const quoted = [...new Set(paths)].map(quote)
  if (quoted.length === 0) return ':'
  return `{ ${quoted.map((path) => `[ -d ${path} ]`).join(' && ')} || mkdir -p ${quoted.join(' ')}; }`
}
