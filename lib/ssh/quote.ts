// The only place that quotes for a POSIX shell: every argument of every built-in command passes here.
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

/** Quotes one word for sh: safe words stay bare, the rest are single-quoted. NUL cannot be passed. */
export function quote(word: string): string {
  if (word.includes('\0')) throw new Error('cannot pass a NUL byte to a shell command')
  if (word !== '' && SAFE.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

export function quoteArgs(argv: readonly string[]): string {
  return argv.map(quote).join(' ')
}
