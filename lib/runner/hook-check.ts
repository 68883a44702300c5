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

/**
 * Hooks whose order contradicts itself among the tasks invoking `start` would run (Rake's
 * "Circular dependency"): `before(a, b)` puts b before a, `after(a, b)` puts a before b.
 */
export function checkHookCycles(registry: Registry, start: string | readonly string[]): void {
  const cycle = findHookCycle(registry.hooks(), start)
  if (cycle === undefined) return
  const names = [...cycle.map((edge) => edge.from), cycle[0]?.from ?? '']
  const calls = cycle.map((edge) => `${edge.hook.call} at ${edge.hook.origin.value}`).join(', ')
  throw new ConfigError(`Circular hooks: ${names.join(' -> ')} (each must run before the next): ${calls}; remove one of them.`)
}

interface OrderEdge {
  from: string
  to: string
  hook: HookDeclaration
}

/** A cycle of "runs before" edges among the tasks reachable from `start` (one or several) through hooks, or undefined. */
export function findHookCycle(hooks: readonly HookDeclaration[], start: string | readonly string[]): OrderEdge[] | undefined {
  const reachable = new Set(typeof start === 'string' ? [start] : start)
  for (const name of reachable) for (const hook of hooks) if (hook.task === name) reachable.add(hook.other)
  const edgesFrom = new Map<string, OrderEdge[]>()
  for (const hook of hooks) {
    if (!reachable.has(hook.task)) continue
    const edge = hook.kind === 'before' ? { from: hook.other, to: hook.task, hook } : { from: hook.task, to: hook.other, hook }
    edgesFrom.set(edge.from, [...(edgesFrom.get(edge.from) ?? []), edge])
  }
  const done = new Set<string>()
  const path: OrderEdge[] = []
  const onPath = new Set<string>()
  const visit = (name: string): OrderEdge[] | undefined => {
    if (done.has(name)) return undefined
    onPath.add(name)
    for (const edge of edgesFrom.get(name) ?? []) {
      path.push(edge)
      if (onPath.has(edge.to)) return path.slice(path.findIndex((step) => step.from === edge.to))
      const cycle = visit(edge.to)
      if (cycle) return cycle
      path.pop()
    }
    onPath.delete(name)
    done.add(name)
    return undefined
  }
  for (const name of reachable) {
    const cycle = visit(name)
    if (cycle) return cycle
  }
  return undefined
}
