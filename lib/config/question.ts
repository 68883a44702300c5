// Capistrano's `ask`: a variable whose value is asked for on the terminal at its first `fetch`.
// The wording and the rules (an empty answer takes the default) are Capistrano's; where Capistrano
// would go on with no value at all (no terminal, no default), the run stops and says how to give one.
import { UsageError } from '../errors.ts'

export interface AskOptions {
  /** false: the answer is not shown as it is typed, and is masked wherever the run prints it (a password). */
  echo?: boolean
  /** The question's words instead of `Please enter NAME` (Capistrano's `prompt:`). */
  prompt?: string
}

/** What came back from the terminal. */
export type Answer = { kind: 'typed'; text: string } | { kind: 'no-terminal' } | { kind: 'end-of-input' }

/** Asks on the terminal: writes the question, reads one line. */
export interface Terminal {
  ask(question: string, options: { echo: boolean }): Answer
}

/** For runs with no terminal to ask on (tests, a CI job): every question gets its default. */
export const NO_TERMINAL: Terminal = { ask: () => ({ kind: 'no-terminal' }) }

/** Capistrano's wording: `Please enter branch (main): `, or `Branch to deploy (main): ` with a prompt. */
export function questionText(name: string, defaultValue: unknown, prompt?: string): string {
  const shown = hasValue(defaultValue) ? ` (${String(defaultValue)})` : ''
  return prompt === undefined ? `Please enter ${name}${shown}: ` : `${prompt}${shown}: `
}

/** The answer, else the default; neither is an error that names the command-line word that gives it. */
export function valueOfAnswer(name: string, answer: Answer, defaultValue: unknown): unknown {
  if (answer.kind === 'typed' && answer.text !== '') return answer.text
  if (hasValue(defaultValue)) return defaultValue
  const why = {
    'no-terminal': 'it is asked for on the terminal, but stdin is not one',
    'end-of-input': 'the input ended before an answer',
    typed: 'the answer was empty and it has no default',
  }[answer.kind]
  throw new UsageError(`No value for ${name}: ${why}; pass ${name}=VALUE on the command line.`)
}

/** A default worth showing and taking: not undefined, null or empty. */
export function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null && value !== ''
}
