import { quote, quoteArgs } from './quote.ts'

/** A string is run by the remote shell as written (Fabric); an array is quoted word by word (SSHKit). */
export type CommandInput = string | readonly string[]

export interface CommandScope {
  cwd?: string
  env?: Readonly<Record<string, string>>
  /** Run as this user through `sudo -u`. */
  user?: string
  /** Run as root through `sudo`. */
  sudo?: boolean
}

/** Several commands, each quoted word by word, as one that stops at the first failure (one round trip). */
export function chain(commands: readonly (readonly string[])[]): string {
  return commands.map((words) => quoteArgs(words)).join(' && ')
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Layers scope around a command like SSHKit's `to_command`:
 * `cd DIR && ( export K=V ; sudo -u U -- sh -c '…' )`, quoting every value.
 */
export function buildCommand(input: CommandInput, scope: CommandScope = {}): string {
  let command = typeof input === 'string' ? input : quoteArgs(input)
  const exports = Object.entries(scope.env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`)
    return `export ${name}=${quote(value)}`
  })
  if (exports.length > 0) command = `${exports.join(' ; ')} ; ${command}`
  if (scope.user !== undefined) command = `sudo -n -u ${quote(scope.user)} -- sh -c ${quote(command)}`
  else if (scope.sudo) command = `sudo -n -- sh -c ${quote(command)}`
  else if (exports.length > 0) command = `( ${command} )`
  if (scope.cwd !== undefined) command = `cd ${quote(scope.cwd)} && ${command}`
  return command
}
