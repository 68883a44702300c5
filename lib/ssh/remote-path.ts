// Remote paths a user writes with `~` (within('~/app'), upload(file, '~/x')) mean the login
// directory, as in a shell and in SSHKit; quoted whole, `~` would be a directory named `~`.
import { quote } from './quote.ts'

/**
 * For a shell: a leading `~` or `~/` stays bare for the shell to expand, the rest is quoted; a
 * relative path starting with `-` gets `./`, so that `cd` and `test` take it for a path, not an option.
 */
export function quotePath(path: string): string {
  if (path === '~') return '~'
  if (path.startsWith('~/')) return path === '~/' ? '~/' : `~/${quote(path.slice(2))}`
  return quote(path.startsWith('-') ? `./${path}` : path)
}

/** For SFTP, which starts in the login directory: `~/x` is `x` there, `~` is `.`. */
export function sftpPath(path: string): string {
  if (path === '~' || path === '~/') return '.'
  return path.startsWith('~/') ? path.slice(2) : path
}

/** `path` inside `within()`'s directory (if any and `path` is relative). */
export function inDirectory(cwd: string | undefined, path: string): string {
  if (cwd === undefined || path.startsWith('/') || path === '~' || path.startsWith('~/')) return path
  return `${cwd.replace(/\/+$/, '')}/${path}`
}
