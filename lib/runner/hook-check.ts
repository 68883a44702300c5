import { ConfigError } from '../errors.ts'
import { suggestTasks } from '../cli/suggest.ts'
import type { HookDeclaration, Registry } from '../registry.ts'

/**
 * Every hook must name defined tasks. Checked once the deployfile has loaded (built-in tasks are
 * registered before it), since a hook may be declared before the task it names.
 */
export function checkHookTargets(registry: Registry): void {
  const known = registry.all().map((task) => task.name)
  for (const hook of registry.hooks()) {
    const missing = [hook.task, hook.other].find((name) => !registry.has(name))
    if (missing === undefined) continue
    const suggestions = suggestTasks(missing, known)
    const fix = suggestions.length > 0 ? `did you mean ${suggestions.map((name) => `"${name}"`).join(' or ')}?` : 'run `deploy -T` to list tasks'
    throw new ConfigError(`${hook.call}: no task "${missing}"; ${fix}`, hook.origin.value)
  }
}
