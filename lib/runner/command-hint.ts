import { currentSession } from './session.ts'

/** `deploy STAGE WORDS`, for a hint: the command line that runs these words on this run's stage. */
export function commandHint(words: string): string {
  const stage = currentSession().variables.fetch<string | undefined>('stage', undefined)
  return `deploy ${stage ?? 'STAGE'} ${words}`
}
