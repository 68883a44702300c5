/** Every error the runner expects carries an exit code and a one-line message naming the culprit and the fix. */
export class DeployError extends Error {
  override name = 'DeployError'
  readonly exitCode: number
  /** Extra lines a reporter prints under the message. */
  readonly details: string[]

  constructor(message: string, options: { exitCode: number; details?: string[]; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.exitCode = options.exitCode
    this.details = options.details ?? []
  }
}

/** Bad command line: unknown task, empty key, unknown role or host. Exit 2. */
export class UsageError extends DeployError {
  override name = 'UsageError'
  /** The deployfile line that made the mistake (`deployfile.ts:12`), once named in the message. */
  readonly location: string | undefined

  constructor(message: string, details?: string[], location?: string) {
    super(location === undefined ? message : `${message} (at ${location})`, { exitCode: 2, details })
    this.location = location
  }
}

/** A deployfile or stage file problem; `location` is `file:line` when known. Exit 2. */
export class ConfigError extends DeployError {
  override name = 'ConfigError'
  readonly location: string | undefined
  constructor(message: string, location?: string, cause?: unknown) {
    super(location ? `${location}: ${message}` : message, { exitCode: 2, cause })
    this.location = location
  }
}

/** Host unreachable, authentication refused, timeout. Exit 1. */
export class ConnectionError extends DeployError {
  override name = 'ConnectionError'
  readonly host: string
  constructor(host: string, message: string, cause?: unknown) {
    super(`${host}: ${message}`, { exitCode: 1, cause })
    this.host = host
  }
}

/** A remote command exited non-zero. Exit 1. */
export class RemoteCommandError extends DeployError {
  override name = 'RemoteCommandError'
  readonly host: string
  readonly command: string
  readonly code: number | null
  readonly stderrTail: string[]
  /**
   * @param stderrTail - the last lines of its stderr; the message shows the last two, since the
   *   last alone is often a tool's epilogue (`tar: Exiting with failure status due to previous
   *   errors`) after the line that says why
   * @param interruptedBy - what stopped it (`Ctrl-C`, `SIGTERM`), if the run's interruption did: the
   *   message says that instead (`true`, as before signals other than Ctrl-C were told apart: Ctrl-C)
   */
  constructor(host: string, command: string, code: number | null, stderrTail: string[], interruptedBy?: string | boolean) {
    const wasInterrupted = interruptedBy !== undefined && interruptedBy !== false
    const shown = wasInterrupted ? [`stopped by ${interruptedBy === true ? 'Ctrl-C' : interruptedBy}`] : stderrTail.slice(-2)
    const status = code === null ? 'was killed' : `exited ${code}`
    super(`${host}: \`${shorten(command)}\` ${status}${shown.length > 0 ? `: ${shown.join(' / ')}` : ''}`, {
      exitCode: 1,
      details: wasInterrupted ? stderrTail : stderrTail.slice(0, -2),
    })
    this.host = host
    this.command = command
    this.code = code
    this.stderrTail = stderrTail
  }
}

/** Hosts failed in a task; carries the per-host failures. Exit 1 (or `exitCode`: 75, another deploy holds the lock). */
export class RunFailedError extends DeployError {
  override name = 'RunFailedError'
  readonly failures: ReadonlyMap<string, Error>
  constructor(message: string, failures: ReadonlyMap<string, Error>, exitCode = 1) {
    super(message, { exitCode })
    this.failures = failures
  }
}

export function shorten(text: string, maxLength = 160): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ')
  return oneLine.length <= maxLength ? oneLine : `${oneLine.slice(0, maxLength - 1)}…`
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A value a user passed where another kind was expected, for an error: `number 5`, `an object`, `undefined`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'function') return 'a function'
  return typeof value === 'string' ? `string ${JSON.stringify(value)}` : `${typeof value} ${String(value)}`
}
