import { DeployError } from '../errors.ts'
import type { TaskDefinition } from '../registry.ts'

/** Not tasks, but listed with them, as `cap -T` lists `cap install` (a deployfile's own task of that name wins). */
const LISTED_COMMANDS: readonly { name: string; desc: string }[] = [
  { name: 'install', desc: 'Write deployfile.ts and roles/STAGE.yaml to start from (STAGES=staging,production)' },
]

/** `deploy -T` output, as `cap -T`: described tasks only, aligned, filtered by a substring. */
export function listTasks(tasks: readonly TaskDefinition[], pattern: string | undefined): string {
  const commands = LISTED_COMMANDS.filter((command) => !tasks.some((task) => task.name === command.name))
  const shown = [...tasks, ...commands]
    .filter((task) => task.desc !== undefined && (pattern === undefined || task.name.includes(pattern)))
    .sort((a, b) => a.name.localeCompare(b.name))
  const width = Math.max(0, ...shown.map((task) => task.name.length))
  // A desc of several lines shows its first, as cap -T does (the rest would break the columns).
  return shown.map((task) => `deploy ${task.name.padEnd(width)}  # ${firstLine(task.desc ?? '')}\n`).join('')
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? ''
}

/** `deploy -T PATTERN` found nothing: exit 1, like grep, rather than cap's silent 0. */
export function noTaskMatches(tasks: readonly TaskDefinition[], pattern: string): DeployError {
  const hidden = tasks.filter((task) => task.desc === undefined && task.name.includes(pattern)).map((task) => task.name)
  const note = hidden.length > 0 ? ` (tasks without a desc are not listed: ${hidden.slice(0, 5).join(', ')}${hidden.length > 5 ? ', …' : ''})` : ''
  return new DeployError(`No task matches "${pattern}"${note}. Run \`deploy -T\` to list tasks.`, { exitCode: 1 })
}
