import { UsageError } from '../errors.ts'
import { STAGE_NAME } from '../inventory/stage-file.ts'
import { suggestTasks } from './suggest.ts'

/** Names projects give their stages; such a word is reported as a missing stage, not a missing task. */
const USUAL_STAGES = new Set(['production', 'prod', 'staging', 'stage', 'dev', 'development', 'qa', 'uat', 'preprod', 'preproduction', 'sandbox'])

/**
 * The error for a first word that is neither a task nor a stage: a missing stage when tasks follow
 * it or it looks like a stage, else an unknown task (with the closest task names).
 * @param stages - the stage names in roles/, or undefined when there is no roles/ directory
 */
export function unknownFirstWord(word: string, rest: readonly string[], tasks: readonly string[], stages: readonly string[] | undefined): UsageError {
  return isMissingStage(word, rest, tasks, stages) ? noStageError(word, stages) : unknownTaskError(word, tasks)
}

/** Whether WORD, followed by REST, more likely names a missing stage than a mistyped task. */
export function isMissingStage(word: string, rest: readonly string[], tasks: readonly string[], stages: readonly string[] | undefined): boolean {
  if (!STAGE_NAME.test(word)) return false
  const isTaskTypo = suggestTasks(word, tasks).length > 0
  const isStageTypo = suggestTasks(word, stages ?? []).length > 0
  const isFollowedByTask = rest.some((other) => tasks.includes(other))
  // A near-miss of a task keeps its task suggestions, unless tasks follow and it is as near a
  // stage, or is a usual stage's name (`deploy prod deploy` with a task `prim`).
  if (isTaskTypo) return isFollowedByTask && (isStageTypo || USUAL_STAGES.has(word.toLowerCase()))
  return isStageTypo || isFollowedByTask || USUAL_STAGES.has(word.toLowerCase())
}

/**
 * `deploy [WORD] -T` listed nothing: whether WORD names a missing stage. No task name holds WORD,
 * so a task it resembles (`prod` and a task `prim`) was not what the user listed.
 */
export function isMissingStageInListing(word: string, stages: readonly string[] | undefined): boolean {
  return isMissingStage(word, [], [], stages)
}

export function noStageError(word: string, stages: readonly string[] | undefined): UsageError {
  const file = `roles/${word}.yaml`
  if (stages === undefined) return new UsageError(`No stage "${word}": there is no roles/ directory next to the deployfile; create ${file}.`)
  if (stages.length === 0) return new UsageError(`No stage "${word}": roles/ holds no stage files; create ${file}.`)
  const closest = suggestTasks(word, stages, 1)[0]
  const known = closest === undefined ? `stages: ${stages.join(', ')}` : `did you mean "${closest}"? Stages: ${stages.join(', ')}`
  return new UsageError(`No stage "${word}" (${file} does not exist); ${known}.`)
}

export function unknownTaskError(name: string, tasks: readonly string[]): UsageError {
  const suggestions = suggestTasks(name, tasks)
  const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((s) => `"${s}"`).join(' or ')}?` : ''
  return new UsageError(`Unknown task "${name}".${hint} Run \`deploy -T\` to list tasks.`)
}
