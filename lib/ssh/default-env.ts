// Capistrano's `default_env`: variables exported to every remote command, as SSHKit exports them
// to its mapped commands (murder to string commands too). Names are upper-cased (`{ path: … }` is
// PATH); in a value `$NAME` and `${NAME}` expand on the host, as in SSHKit's double quotes
// (`{ path: '/opt/node/bin:$PATH' }`), and nothing else does (quote.ts).
import { describeValue, UsageError } from '../errors.ts'
import { quoteExpandingVariables } from './quote.ts'
import { ENV_NAME, wordOf, type ShellWord } from './command.ts'

const EXAMPLE = "set('default_env', { NODE_ENV: 'production', PATH: '/opt/node/bin:$PATH' })"

/** The `default_env` variable checked: upper-cased names, each value as the shell word to export. */
export function readDefaultEnv(value: unknown): Record<string, ShellWord> {
  if (value === undefined || value === null || value === '') return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`default_env must be an object of environment variables, got ${describeValue(value)}: ${EXAMPLE}.`)
  const words: Record<string, ShellWord> = {}
  const given = new Map<string, string>()
  for (const [name, raw] of Object.entries(value)) {
    if (!ENV_NAME.test(name)) throw new UsageError(`default_env: invalid environment variable name ${JSON.stringify(name)}; use letters, digits and _: ${EXAMPLE}.`)
    const upper = name.toUpperCase()
    const earlier = given.get(upper)
    if (earlier !== undefined) throw new UsageError(`default_env: ${earlier} and ${name} are both ${upper} (names are upper-cased, as SSHKit does); keep one.`)
    given.set(upper, name)
    words[upper] = quoteExpandingVariables(wordOf(raw, `default_env: ${name}`)) as ShellWord
  }
  return words
}
