// Variables named like secrets (db_password=…, api_token=…) never reach the terminal: their values
// are masked in every line the CLI writes, as given and as shell-quoted in a printed command.
import { quote } from '../ssh/quote.ts'
import type { TerminalOutput } from './console-reporter.ts'

const SECRET_NAME = /(^|_)(password|passwd|pass|pwd|secret|token|api_?key|private_?key|access_?key|credentials?)(_|$)/i
/** Shorter values would mask ordinary text (a "1" or "on"); such values are not secrets anyway. */
const MIN_SECRET_LENGTH = 4
export const MASK = '********'

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name)
}

export function redact(text: string, secrets: readonly string[]): string {
  const forms = secrets
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH)
    .flatMap((secret) => [quote(secret), secret])
    .sort((a, b) => b.length - a.length)
  let result = text
  for (const form of forms) if (result.includes(form)) result = result.split(form).join(MASK)
  return result
}

/** An output that masks the current secrets (read at every write: lazy values appear when evaluated). */
export function redactingOutput(output: TerminalOutput, secrets: () => readonly string[]): TerminalOutput {
  return {
    isTTY: output.isTTY,
    write: (text: string) => output.write(redact(text, secrets())),
  }
}
