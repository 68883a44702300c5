// The deploy and rollback flows: their steps in Capistrano's order, run once per run, deploy:failed on failure.
import { UsageError, checkInterrupted, invoke } from '../../lib/index.ts'
import { commandHint } from '../../lib/runner/command-hint.ts'
import { currentSession } from '../../lib/runner/session.ts'
import { thisRun } from './run-state.ts'

export const DEPLOY_FLOW = ['starting', 'started', 'updating', 'updated', 'publishing', 'published', 'finishing', 'finished']
export const ROLLBACK_FLOW = ['starting', 'started', 'reverting', 'reverted', 'publishing', 'published', 'finishing_rollback', 'finished']

/** Begins `deploy` or `deploy:rollback`: a second flow in the run would find its steps done. */
export function beginFlow(name: string): void {
  const run = thisRun()
  // Their steps run once per run (Rake's invoke), so a second flow would skip them and do nothing.
  if (run.flowBegun !== undefined) {
    throw new UsageError(`${name} cannot follow ${run.flowBegun} in one run: their steps run once per run, so it would skip them; run \`${commandHint(name)}\` as a command of its own.`)
  }
  run.flowBegun = name
  refuseFlowVariablesGiven(name)
}

/** What the flows set as they go, as Capistrano's do, for hooks to read. */
const FLOW_VARIABLES = ['release_path', 'current_revision', 'previous_revision', 'rollback_timestamp']

/** Given on the command line, one would win over what the flow sets: hooks would work elsewhere than on the release being made. */
function refuseFlowVariablesGiven(flow: string): void {
  const given = FLOW_VARIABLES.find((variable) => currentSession().variables.originOf(variable) === 'command line')
  if (given !== undefined) throw new UsageError(`${given} is set by ${flow} itself as it goes (for hooks to read); leave ${given}= off the command line.`)
}

export async function runFlow(steps: readonly string[]): Promise<void> {
  try {
    for (const step of steps) {
      checkInterrupted()
      await invoke(`deploy:${step}`)
    }
  } catch (error) {
    await invoke('deploy:failed')
    throw error
  }
}

/**
 * A step of the deploy or rollback flow that acts on what an earlier step of it set up (the lock,
 * the release being made, the release picked): run alone, it refuses rather than act on nothing.
 */
export function requireStep(step: string, isSetUp: boolean, inside: string, why: string): void {
  if (isSetUp) return
  throw new UsageError(`${step} runs only inside ${inside}: alone, ${why}; run \`${commandHint(inside.split(' ')[0] ?? 'deploy')}\`.`)
}
