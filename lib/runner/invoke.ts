import { ConfigError, DeployError, UsageError } from '../errors.ts'
import { UnawaitedWork } from './unawaited-work.ts'
import { unknownTaskError } from '../cli/first-word.ts'
import { checkHookCycles } from './hook-check.ts'
import type { Session } from './session.ts'
import type { TaskDefinition } from '../registry.ts'
import { thrownAt } from '../config/caller-location.ts'
import { projectRootIfLoaded } from '../config/project-root.ts'
import { describeThrown } from './local-commands.ts'

/** Deeper than any real flow of tasks, hooks and invokes; reached only by tasks invoking each other without end. */
export const MAX_INVOCATION_DEPTH = 100

/**
 * Runs a task with its before and after hooks, once per run (Rake's `invoke`); `again` re-runs
 * a task that already ran, its hooks too (where Capistrano's `invoke!` re-runs the task alone): a
 * hook on `deploy:verify`, which runs again for every wave, is a check of every wave. Errors
 * propagate: Capistrano stops the run.
 */
export async function invokeTask(session: Session, name: string, again = false): Promise<void> {
  const task = session.registry.get(name)
  if (!task) throw unknownTask(session, name)
  const chain = [...(session.invocationChain.getStore() ?? []), name]
  if (chain.length > MAX_INVOCATION_DEPTH) throw endlessInvocation(session, chain)
  checkHookCycles(session.registry, name)
  if (session.ranTasks.has(name) && !again) return
  await session.invocationChain.run(chain, () => runTask(session, name, task, again))
}

async function runTask(session: Session, name: string, task: TaskDefinition, again: boolean): Promise<void> {
  session.ranTasks.add(name)

  for (const hook of session.registry.beforeOf(name)) await invokeTask(session, hook, again)
  const hosts = task.roles.length > 0 ? session.hostsFor(task.roles) : session.hostsFor([])
  warnUnknownRoles(session, name, task.roles)
  if (task.roles.length > 0 && hosts.length === 0) {
    session.reporter.emit({ type: 'task-skip', task: name, reason: skipReason(session, task.roles) })
  } else if (task.body) {
    session.reporter.emit({ type: 'task-start', task: name })
    const started = Date.now()
    const failedBefore = new Set(session.failedHosts.keys())
    let ok = false
    try {
      const work = new UnawaitedWork()
      await session.taskWork.run(work, () => task.body?.({ name, hosts }))
      await work.check(`task ${name}`)
      ok = true
    } catch (error) {
      throw error instanceof DeployError ? withDeployfileLine(error) : new TaskError(name, task.origin, error)
    } finally {
      const durationMs = Date.now() - started
      // A task that carried on without hosts (onError: 'continue', max_fail) did not simply succeed.
      const failedHosts = [...session.failedHosts.keys()].filter((host) => !failedBefore.has(host))
      session.taskTimings.push({ name, durationMs, ok })
      session.reporter.emit({ type: 'task-end', task: name, durationMs, ok, ...(ok && failedHosts.length > 0 ? { failedHosts } : {}) })
    }
  }
  for (const hook of session.registry.afterOf(name)) await invokeTask(session, hook, again)
}

/** A DSL call the deployfile got wrong (on() with an unknown option, invoke() of no task): name its line, as a TaskError does. */
function withDeployfileLine(error: DeployError): DeployError {
  if (!(error instanceof UsageError) || error.location !== undefined) return error
  // Only the project's own frames: a built-in task's error has none, whatever started the CLI.
  const root = projectRootIfLoaded()
  const at = root === undefined ? undefined : thrownAt(error, root)
  if (at === undefined) return error
  return new UsageError(error.message, error.details, at)
}

/** Some of a task's roles no server has: the skip covers all of them; some may be a typo that must not pass unseen. */
function warnUnknownRoles(session: Session, name: string, roles: readonly string[]): void {
  const unknown = session.inventory.unknownRoles(roles)
  if (unknown.length === 0 || unknown.length === roles.length) return
  if (session.tasksWarnedOfUnknownRoles.has(name)) return
  session.tasksWarnedOfUnknownRoles.add(name)
  const text = `${name}: no server has ${unknown.length > 1 ? 'roles' : 'role'} ${unknown.join(', ')} (roles: ${session.inventory.roleList()}); it runs on the other roles' hosts`
  // Said, not warned: a stage without one of a task's roles (a staging without `db`) is common.
  session.reporter.emit({ type: 'message', level: 'info', text })
}

/** A task body threw something other than a DeployError: name the task and where it was defined. */
export class TaskError extends DeployError {
  override name = 'TaskError'
  constructor(task: string, origin: string, cause: unknown) {
    // Where it threw, when that is not where the task was defined: the task's first line is rarely the culprit.
    const { message, at } = describeThrown(cause)
    super(`task ${task} (${origin}) failed${at === undefined || at === origin ? '' : ` at ${at}`}: ${message}`, { exitCode: 1, cause })
  }
}

/** Why a task with roles found no hosts: a role no server has (often a typo) reads differently from a filter. */
function skipReason(session: Session, roles: readonly string[]): string {
  const known = session.inventory.roleNames()
  const wanted = roles.join(' or ')
  if (!roles.some((role) => known.has(role))) return `no server has role ${wanted} (roles: ${session.inventory.roleList() || 'none'})`
  const isFiltered = session.filter.roles.length > 0 || session.filter.hosts.length > 0
  return `no hosts with role ${wanted}${isFiltered ? ' after ROLES=/HOSTS=' : ' left'}`
}

function endlessInvocation(session: Session, chain: readonly string[]): ConfigError {
  const [start = ''] = chain
  const shown = [...chain.slice(0, 4), '…'].join(' -> ')
  const origin = session.registry.get(start)?.origin ?? 'unknown'
  return new ConfigError(
    `Tasks invoke each other without end: ${shown} (over ${MAX_INVOCATION_DEPTH} deep), from ${start} (${origin}); give invoke(…, { again: true }) a condition that stops it`
  )
}

export function unknownTask(session: Session, name: string): UsageError {
  return unknownTaskError(name, session.registry.all().map((task) => task.name))
}
