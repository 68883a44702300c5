// The only place that quotes for a POSIX shell: every argument of every built-in command passes here.
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

/** Quotes one word for sh: safe words stay bare, the rest are single-quoted. NUL cannot be passed. */
export function quote(word: string): string {
  if (word.includes('\0')) throw new Error('cannot pass a NUL byte to a shell command')
  if (word !== '' && SAFE.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

const REFERENCE = /\\\$|\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g

/**
 * Quotes one word for sh in which `$NAME` and `${NAME}` expand, as in SSHKit's double quotes
 * (`/opt/node/bin:$PATH`), `\$` is a literal `$`, and nothing else expands: `$(…)`, backquotes,
 * `$$` and quotes are taken as written.
 */
export function quoteExpandingVariables(word: string): string {
  const parts: string[] = []
  let literal = ''
  let end = 0
  for (const match of word.matchAll(REFERENCE)) {
    literal += word.slice(end, match.index)
    end = match.index + match[0].length
    if (match[0] === '\\$') {
      literal += '$'
      continue
    }
    if (literal !== '') parts.push(quote(literal))
    literal = ''
    parts.push(`"\${${match[1] ?? match[2]}}"`)
  }
  literal += word.slice(end)
  if (literal !== '' || parts.length === 0) parts.push(quote(literal))
  return parts.join('')
}

export function quoteArgs(argv: readonly string[]): string {
  return argv.map(quote).join(' ')
}
