import type { TaskDefinition } from '../registry.ts'

/** `deploy -T` output, as `cap -T`: described tasks only, aligned, filtered by a substring. */
export function listTasks(tasks: readonly TaskDefinition[], pattern: string | undefined): string {
  const shown = tasks.filter((task) => task.desc !== undefined && (pattern === undefined || task.name.includes(pattern)))
  const width = Math.max(0, ...shown.map((task) => task.name.length))
  return shown.map((task) => `deploy ${task.name.padEnd(width)}  # ${task.desc}\n`).join('')
}
