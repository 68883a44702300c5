import { posix } from 'node:path'
import { quote, quoteArgs } from './quote.ts'
import { quotePath } from './remote-path.ts'
import { describeValue, UsageError } from '../errors.ts'

/**
 * A string is run by the remote shell as written (Fabric); an array is quoted word by word
 * (SSHKit), numbers as written (`['sleep', 5]`).
 */
export type CommandInput = string | readonly (string | number)[]

export interface CommandScope {
  cwd?: string
  env?: Readonly<Record<string, string>>
  /** `default_env`'s variables as shell words (default-env.ts), exported before `env`'s. */
  defaultEnv?: Readonly<Record<string, ShellWord>>
  /** Run as this user through `sudo -u`. */
  user?: string
  /** Run as root through `sudo`. */
  sudo?: boolean
}

/** Several commands, each quoted word by word, as one that stops at the first failure (one round trip). */
export function chain(commands: readonly (readonly string[])[]): string {
  return commands.map((words) => quoteArgs(words)).join(' && ')
}

/**
 * Writes the command's stdin to `path` through a file of its own made by mktemp next to it, renamed
 * into place: in a shared directory (`/tmp`), `cat > path` would write into a file another user
 * made there first, to be read back as ours. In a sticky directory the rename over such a file is
 * refused, and the command fails.
 */
export function stdinIntoFile(path: string): string {
  const partial = posix.join(posix.dirname(path), `.${posix.basename(path)}.XXXXXX`)
  return `t=$(mktemp ${quote(partial)}) && { cat > "$t" && mv -f "$t" ${quote(path)} || { rm -f "$t"; false; }; }`
}

/**
 * Replaces `path` by a new empty file only the SSH user can read, which an upload then fills: in a
 * shared directory (/tmp) another user may have put a file or a link at that name first, to read or
 * change the release. `rm -f` of their file fails in a sticky directory; noclobber's create fails on
 * an existing regular file, and what it would still open (a link planted since to a FIFO or a
 * device) fails the checks after it: a regular file, no link, ours. In a sticky directory no one
 * else can then swap it.
 */
export function privateFileCommand(path: string): string {
  const file = quote(path)
  return `rm -f ${file} && (umask 077 && set -C && : > ${file}) && [ -f ${file} ] && [ ! -h ${file} ] && [ -O ${file} ]`
}

/** A text already quoted for sh, to be pasted as it is (default_env's values). */
export type ShellWord = string & { readonly isQuotedForShell: true }

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Layers scope around a command like SSHKit's `to_command`:
 * `cd DIR && ( export K=V ; sudo -u U -- sh -c '…' )`, quoting every value (default_env's expand `$NAME`).
 */
export function buildCommand(input: CommandInput, scope: CommandScope = {}): string {
  let command = commandText(input)
  const exports = [
    ...Object.entries(scope.defaultEnv ?? {}).map(([name, word]) => `export ${name}=${word}`),
    ...Object.entries(scope.env ?? {}).map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw new UsageError(`withEnv: invalid environment variable name ${JSON.stringify(name)}; use letters, digits and _`)
      return `export ${name}=${quote(wordOf(value, `withEnv: ${name}`))}`
    }),
  ]
  if (exports.length > 0) command = `${exports.join(' ; ')} ; ${command}`
  if (scope.user !== undefined) command = `sudo -n -u ${quote(scope.user)} -- sh -c ${quote(command)}`
  else if (scope.sudo) command = `sudo -n -- sh -c ${quote(command)}`
  // A string may hold several commands (`a; b`, `a || b`): all of them run in DIR, or none.
  else if (exports.length > 0 || (scope.cwd !== undefined && typeof input === 'string')) command = subshell(command)
  if (scope.cwd !== undefined) command = `cd ${quotePath(scope.cwd)} && ${command}`
  return command
}

/** `( command )`, closed on a line of its own when a `#` comment or a here-doc's end would swallow the `)`. */
function subshell(command: string): string {
  return /[#\n]/.test(command) ? `( ${command}\n)` : `( ${command} )`
}

function commandText(input: unknown): string {
  if (typeof input === 'string') return input
  if (!Array.isArray(input)) throw new UsageError(`a command is a string or an array of words, got ${describeValue(input)}`)
  return quoteArgs(input.map((word: unknown, index) => wordOf(word, `word ${index + 1} of the command`)))
}

/** A command word or environment value: a string, or a number or boolean as written; nothing else. */
export function wordOf(value: unknown, what: string): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  throw new UsageError(`${what} is ${describeValue(value)}; pass a string or a number`)
}
