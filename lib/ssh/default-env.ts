// Capistrano's `default_env`: variables exported to every remote command, as SSHKit exports them.
// Names are upper-cased (`{ path: … }` is PATH) and `$NAME` or `${NAME}` in a value is expanded
// on the host, as SSHKit's double quotes would (`{ path: '/opt/node/bin:$PATH' }`); every other
// character is taken literally, backquotes and `$(…)` included.
import { describeValue, UsageError } from '../errors.ts'
import { quote } from './quote.ts'
import { wordOf } from './command.ts'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const REFERENCE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g
const EXAMPLE = "set('default_env', { NODE_ENV: 'production', PATH: '/opt/node/bin:$PATH' })"

/** The `default_env` variable checked: names upper-cased, each value as a shell word expanding only `$NAME`. */
export function readDefaultEnv(value: unknown): Record<string, string> {
  if (value === undefined || value === null || value === '') return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`default_env must be an object of environment variables, got ${describeValue(value)}: ${EXAMPLE}.`)
  const words: Record<string, string> = {}
  for (const [name, raw] of Object.entries(value)) {
    if (!ENV_NAME.test(name)) throw new UsageError(`default_env: invalid environment variable name ${JSON.stringify(name)}; use letters, digits and _: ${EXAMPLE}.`)
    words[name.toUpperCase()] = expandingWord(wordOf(raw, `default_env: ${name}`))
  }
  return words
}

/** `value` as one shell word in which `$NAME` and `${NAME}` expand and nothing else does. */
export function expandingWord(value: string): string {
  const parts: string[] = []
  let end = 0
  for (const match of value.matchAll(REFERENCE)) {
    if (match.index > end) parts.push(quote(value.slice(end, match.index)))
    parts.push(`"\${${match[1] ?? match[2]}}"`)
    end = match.index + match[0].length
  }
  if (end < value.length || parts.length === 0) parts.push(quote(value.slice(end)))
  return parts.join('')
}
