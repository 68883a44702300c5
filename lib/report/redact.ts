// Variables named like secrets (db_password=…, dbPassword, api_token=…), and environment variables
// so named (a CI job's GITHUB_TOKEN), never reach the terminal: their values are masked in every
// line the CLI writes, as given and as shell-quoted in a printed command.
import { quote, quoteExpandingVariables } from '../ssh/quote.ts'
import type { TerminalOutput } from './console-reporter.ts'

const SECRET_NAME = /(^|_)(password|passwd|passphrase|pass|pwd|secret|token|api_?key|private_?key|access_?key|credentials?)(_|$)/
/** Shorter values would mask ordinary text (a "1" or "on"); such values are not secrets anyway. */
const MIN_SECRET_LENGTH = 4
/** For values the environment gives, which no one chose to name a secret here. */
const MIN_ENVIRONMENT_SECRET_LENGTH = 8
export const MASK = '********'

/** Whether a name has a secret's word as one of its `_`-separated or camelCase parts. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(snakeCase(name))
}

/** `dbPassword` → `db_password`, `myAPIToken` → `my_api_token`, `DB_PASS` → `db_pass`. */
function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
}

/**
 * The values of environment variables named like secrets: a CI job's tokens, read by the
 * deployfile. Only long ones: the environment also holds flags (`SKIP_TOKEN_CHECK=true`) whose
 * value, masked, would hide an ordinary word everywhere.
 */
export function secretEnvironmentValues(env: Record<string, string | undefined>): string[] {
  return Object.entries(env).flatMap(([name, value]) => {
    if (value === undefined) return []
    if (value.length >= MIN_ENVIRONMENT_SECRET_LENGTH && isSecretEnvironmentName(name)) return [value]
    // DATABASE_URL=postgres://app:PASSWORD@db/x: the password, whatever the name (as long as a
    // secret there: http_proxy=http://u:pass@proxy would otherwise mask every "pass").
    const password = passwordInUrl(value)
    return password === undefined || password.length < MIN_ENVIRONMENT_SECRET_LENGTH ? [] : [password]
  })
}

/**
 * Stricter than for variables: every shell exports PWD (the working directory), and names ending
 * in _FILE, _DIR, _PATH, _URL or _SOCK hold where a secret is, not the secret (PASSWORD_STORE_DIR).
 */
function isSecretEnvironmentName(name: string): boolean {
  return isSecretName(name) && !/^(OLD)?PWD$/i.test(name) && !/_(FILE|DIR|DIRECTORY|PATH|URL|SOCK|SOCKET)$/i.test(name)
}

export function redact(text: string, secrets: readonly string[]): string {
  const forms = [...new Set(secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH).flatMap(printedForms))].sort((a, b) => b.length - a.length)
  let result = text
  for (const form of forms) if (result.includes(form)) result = result.split(form).join(MASK)
  return result
}

/**
 * The ways a secret appears in what a run prints: as given; shell-quoted, whole or inside a larger
 * quoted word (`'--password=it'\''s'`), and once more inside `sh -c '…'` (as(), sudo); in zx's
 * `$'…'` quoting (local `$` commands); and inside a JSON string.
 */
export function printedForms(secret: string): string[] {
  let forms = formsOfSecrets.get(secret)
  if (forms === undefined) {
    forms = formsOf(secret)
    formsOfSecrets.set(secret, forms)
  }
  return forms
}

/** Every line the CLI writes is masked: a secret's forms are worked out once, not per line. */
const formsOfSecrets = new Map<string, string[]>()

function formsOf(secret: string): string[] {
  const inShellQuotes = (text: string) => text.replaceAll("'", "'\\''")
  const inAnsiCQuotes = secret.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
  // quoteExpandingVariables: a secret in default_env (`p@ss$word` is exported as `p@ss"${word}"`).
  return [...new Set([secret, quote(secret), quoteExpandingVariables(secret), inShellQuotes(secret), inShellQuotes(inShellQuotes(secret)), inAnsiCQuotes, JSON.stringify(secret).slice(1, -1)])]
}

const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)([^/@\s]+)@/i
/** The same anywhere in a text (`--db=postgres://app:PASSWORD@db/x`). */
const URL_PASSWORD_WITHIN = /\b[a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:([^/@\s]+)@/i

/** The password of a URL in the text that carries one (`postgres://app:PASSWORD@db/x`). */
export function passwordInUrl(text: string): string | undefined {
  return URL_PASSWORD_WITHIN.exec(text)?.[1]
}

/**
 * A copy of `value` for showing whole (doctor): what a secret-named key holds, at any depth, is
 * masked, and so is the password of a URL (`https://user:token@host`).
 */
export function maskedForShowing(value: unknown, name = ''): unknown {
  if (name !== '' && isSecretName(name) && value !== undefined && value !== null && value !== '') return MASK
  if (typeof value === 'string') return value.replace(URL_PASSWORD, `$1${MASK}@`)
  if (Array.isArray(value)) return value.map((item) => maskedForShowing(item))
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskedForShowing(item, key)]))
  }
  return value
}

/** An output that masks the current secrets (read at every write: lazy values appear when evaluated). */
export function redactingOutput(output: TerminalOutput, secrets: () => readonly string[]): TerminalOutput {
  return {
    isTTY: output.isTTY,
    write: (text: string) => output.write(redact(text, secrets())),
  }
}
