/**
 * The deployfile DSL: Capistrano's shape with Fabric's feel.
 *
 * @example
 * ```ts
 * import { set, server, task, on, roles } from 'murder'
 * set('application', 'shop')
 * server('deploy@web1.example.com', { roles: ['web', 'app'] })
 * task('uptime', { desc: 'Show uptime', roles: 'web' }, async ({ hosts }) => {
 *   await on(hosts, async (remote) => { await remote.run('uptime') })
 * })
 * ```
 */
import { currentSession, type Session } from './runner/session.ts'
import { callerLocation } from './config/caller-location.ts'
import { invokeTask } from './runner/invoke.ts'
import { onHosts, type HostBlock, type OnOptions } from './runner/on.ts'
import { checkRoleName, type ServerOptions } from './inventory/inventory.ts'
import type { Host } from './inventory/host.ts'
import type { TaskBody, TaskOptions } from './registry.ts'
import type { Outcome } from './runner/strategies.ts'
import { checkInterrupted as checkInterruptedIn, type InterruptCause } from './runner/interrupt.ts'
import { resolveHosts, type HostList } from './runner/resolve-hosts.ts'
import { ConfigError, UsageError } from './errors.ts'
import { suggestTasks } from './cli/suggest.ts'
import { hasValue, questionText, valueOfAnswer, type AskOptions } from './config/question.ts'

export type { Host } from './inventory/host.ts'
export type { ServerOptions } from './inventory/inventory.ts'
export type { TaskBody, TaskContext, TaskOptions } from './registry.ts'
export type { HostContext, CommandResult, RunOptions } from './ssh/host-context.ts'
export type { CommandInput } from './ssh/command.ts'
export type { AskOptions } from './config/question.ts'
export type { OnOptions, HostBlock } from './runner/on.ts'
export type { HostList } from './runner/resolve-hosts.ts'
export type { Outcome } from './runner/strategies.ts'
export { quote } from './ssh/quote.ts'
/** Capistrano's path helpers: `releasePath()` in a deploy:updated hook is the new release. */
export { deployPath, currentPath, releasesPath, sharedPath, releasePath, revisionLog } from './deploy/deploy-paths.ts'
export { InterruptedError } from './runner/interrupt.ts'
export type { InterruptCause } from './runner/interrupt.ts'
export { DeployError, UsageError, ConfigError, ConnectionError, RemoteCommandError, RunFailedError } from './errors.ts'
/** zx's `$` for local commands: `await $\`git rev-parse HEAD\``. */
export { $ } from 'zx/core'

/**
 * Sets a variable. A function is evaluated once, at the first `fetch`.
 * Command-line `key=value` words override every `set`.
 * @param name - snake_case, as Capistrano's (`keep_releases`)
 * @param value - a value, or a function computing it lazily
 * @example set('deploy_to', () => `/srv/${fetch('application')}`)
 */
export function set(name: string, value: unknown): void {
  currentSession().variables.set(name, value)
}

/**
 * Capistrano's `ask`: the variable's value is asked for on the terminal at its first `fetch`
 * (`Please enter branch (main): `); an empty answer takes `defaultValue` (a function gives it when
 * asked). A `name=VALUE` word on the command line answers it instead. With no terminal (a CI job)
 * the default is taken, and with none the run stops and says to pass `name=VALUE`.
 * @param options - `echo: false` hides the answer as it is typed and masks it in the run's output;
 *   `prompt` replaces `Please enter NAME`
 * @example ask('branch', () => $.sync`git rev-parse --abbrev-ref HEAD`.stdout.trim())
 * @example ask('db_password', undefined, { echo: false })
 */
export function ask(name: string, defaultValue?: unknown, options: AskOptions = {}): void {
  const session = currentSession()
  const isEchoed = options.echo !== false
  session.variables.set(name, () => {
    const shownDefault = typeof defaultValue === 'function' ? (defaultValue as () => unknown)() : defaultValue
    // A hidden answer's default is not shown either: only that there is one.
    const answer = session.terminal.ask(questionText(name, isEchoed || !hasValue(shownDefault) ? shownDefault : '********', options.prompt), { echo: isEchoed })
    const value = valueOfAnswer(name, answer, shownDefault)
    // For the run's log (a CI job's): which value the run went on with, and why it was not asked.
    if (answer.kind === 'no-terminal') session.reporter.emit({ type: 'message', level: 'info', text: `${name}: no terminal to ask on (stdin); took its default${isEchoed ? ` ${String(value)}` : ''}` })
    return value
  })
  if (!isEchoed) session.variables.markSecret(name)
  const shownDefault = typeof defaultValue === 'function' ? 'computed then' : defaultValue === undefined ? 'none' : isEchoed ? String(defaultValue) : '********'
  session.variables.describeLazy(name, `asked on the terminal at its first fetch; default: ${shownDefault}`)
}

/**
 * Reads a variable: the command line's `key=value`, else what `set` gave, else `fallback`.
 * @example const keep = Number(fetch('keep_releases', 5))
 * Warning: values given on the command line are strings.
 */
export function fetch<T = unknown>(name: string, fallback?: T | (() => T)): T {
  const session = currentSession()
  const variables = session.variables
  // A name nothing set, read without a default: usually a typo (`app_rot`), which would read as
  // undefined into a command (`rm -rf undefined/cache`). Said once, with the closest names.
  if (arguments.length < 2 && name !== 'stage' && !variables.has(name)) warnUnsetVariable(session, name)
  if (typeof fallback !== 'function') return variables.fetch<T>(name, fallback)
  // Capistrano's `fetch(:name) { default }`: the function gives the default, only when needed.
  return variables.fetch<T | undefined>(name, undefined) ?? (fallback as () => T)()
}

function warnUnsetVariable(session: Session, name: string): void {
  if (session.unsetVariablesSaid.has(name)) return
  session.unsetVariablesSaid.add(name)
  const closest = suggestTasks(name, session.variables.names(), 1)[0]
  const guess = closest === undefined ? '' : ` (did you mean ${closest}?)`
  session.reporter.emit({ type: 'message', level: 'warn', text: `fetch('${name}'): no such variable${guess}; it reads as undefined: set it, pass ${name}=VALUE, or give fetch a default: fetch('${name}', DEFAULT)` })
}

/**
 * Declares a server; declaring it again adds roles and properties.
 * @param host - `host`, `user@host` or `user@host:port` (`[v6]:port` too)
 * @param options - `roles`, `user`, `port`, `primary`, `no_release`, and any property tasks read
 * @throws Error when the host or a role name is malformed
 * @example server('deploy@10.0.0.5:2222', { roles: ['app'], primary: true })
 */
export function server(host: string, options: ServerOptions = {}): Host {
  return currentSession().inventory.server(host, options)
}

/**
 * Gives a role to several hosts at once.
 * @example role('web', ['web1', 'web2'], { user: 'deploy' })
 */
export function role(name: string, hosts: readonly string[] | string, properties: ServerOptions = {}): void {
  currentSession().inventory.role(checkRoleName(name), hosts, properties)
}

/**
 * The hosts of these roles (every host when none is named, `all` too) after `ROLES=`/`HOSTS=`
 * filters, leaving out hosts that already failed in this run.
 * @example await on(roles('web', 'app'), async (remote) => remote.run('uptime'))
 */
export function roles(...names: string[]): Host[] {
  const session = currentSession()
  sayUnknownRoles(session, 'roles', names)
  return session.hostsFor(names)
}

/** A role no server has is usually a typo: said once per run and role, as a task's roles are. */
function sayUnknownRoles(session: Session, call: 'roles' | 'primary', names: readonly string[]): void {
  const known = session.inventory.roleList()
  if (known === '') return
  for (const name of session.inventory.unknownRoles(names)) {
    if (session.rolesSaidUnknown.has(name)) continue
    session.rolesSaidUnknown.add(name)
    const text = `${call}(${JSON.stringify(name)}): no server has role ${name} (roles: ${known})`
    session.reporter.emit({ type: 'message', level: 'warn', text })
  }
}

/**
 * Hosts that receive releases: those of these roles (all when none is named) not marked
 * `no_release`, after filters (Capistrano's `release_roles`).
 */
export function releaseRoles(...names: string[]): Host[] {
  return roles(...names).filter((host) => host.properties['no_release'] !== true)
}

/**
 * Runs `fn` with every `roles()` and task host list inside it narrowed to these hosts,
 * e.g. a health check run on one deploy wave.
 */
export function onlyHosts<T>(hosts: readonly Host[], fn: () => Promise<T>): Promise<T> {
  return currentSession().hostScope.run({ names: new Set(hosts.map((host) => host.name)), withFailed: false }, fn)
}

/** Every declared server in declaration order, ignoring ROLES=/HOSTS= filters. */
export function allServers(): Host[] {
  return currentSession().inventory.all()
}

/** The servers that have failed so far in this run (those `max_fail` carried on without), in declaration order. */
export function failedHosts(): Host[] {
  const failed = currentSession().failedHosts
  return currentSession().inventory.all().filter((host) => failed.has(host.name))
}

/**
 * The `primary: true` host of a role, else its first host (Capistrano's `primary`). As Capistrano's,
 * it ignores ROLES=/HOSTS=: `on()` applies them (a primary they leave out runs nothing, and on()
 * says so). A host that failed in this run is left out, as in roles(): the next one stands in.
 */
export function primary(roleName: string): Host | undefined {
  const session = currentSession()
  sayUnknownRoles(session, 'primary', [roleName])
  return session.inventory.primary(roleName, (host) => session.failedHosts.has(host.name))
}

/** What `task()` takes besides its name and body. */
const TASK_OPTIONS = ['desc', 'roles']

/**
 * Defines a task (or redefines one, keeping what the new definition leaves out).
 * @param name - snake_case; inside `namespace('deploy', …)` it becomes `deploy:NAME`
 * @param options - `desc` (shown by `deploy -T`) and `roles` (the context's `hosts`)
 * @example task('restart', { desc: 'Restart the app', roles: 'app' }, async ({ hosts }) => { … })
 */
export function task(name: string, options: TaskOptions | string, body?: TaskBody): void
export function task(name: string, body: TaskBody): void
export function task(name: string, optionsOrBody: TaskOptions | string | TaskBody, body?: TaskBody): void {
  const origin = callerLocation()
  // A string is the task's desc: task('restart', 'Restart the app', fn).
  const options = typeof optionsOrBody === 'function' ? {} : typeof optionsOrBody === 'string' ? { desc: optionsOrBody } : optionsOrBody
  const fn = typeof optionsOrBody === 'function' ? optionsOrBody : body
  if (typeof options !== 'object' || options === null) throw new ConfigError(`task(${JSON.stringify(name)}, …): the second argument is { desc, roles }, a desc, or the task's function`, origin.value)
  // `{ role: 'db' }` or `{ hosts: […] }` ignored would run the task on every host.
  const unknown = Object.keys(options).filter((key) => !TASK_OPTIONS.includes(key))
  if (unknown.length > 0) {
    const fix = unknown.includes('hosts') ? '; to run on named hosts, use on([…], …) in the body' : ''
    throw new ConfigError(`task(${JSON.stringify(name)}, …): unknown option ${unknown.map((key) => JSON.stringify(key)).join(', ')}; the options are ${TASK_OPTIONS.join(', ')}${fix}`, origin.value)
  }
  if (fn !== undefined && typeof fn !== 'function') throw new ConfigError(`task(${JSON.stringify(name)}, …): the task's body must be a function`, origin.value)
  currentSession().registry.define(name, options, fn, origin)
}

/**
 * Groups tasks under `name:`; `before`/`after` inside resolve names relative to it first (Rake).
 * `invoke` runs when a task does, outside any namespace: it takes full names (`app:restart`).
 * @example namespace('app', () => { task('restart', …) })   // app:restart
 */
export function namespace(name: string, define: () => void): void {
  currentSession().registry.inNamespace(name, define)
}

/**
 * Runs `other` before `taskName` every time `taskName` is invoked: a task's name, or a function
 * (run as a hidden task of its own), or, as Capistrano's `before :task, :name do … end`, a new
 * task's name and its function.
 * @example before('deploy:publishing', 'app:migrate')
 * @example before('deploy:starting', async () => { await $`npm test` })
 */
export function before(taskName: string, other: string | TaskBody, body?: TaskBody): void {
  addHook('before', taskName, other, body)
}

/** Runs `other` after `taskName`, as `before` does. @example after('deploy:published', 'app:restart') */
export function after(taskName: string, other: string | TaskBody, body?: TaskBody): void {
  addHook('after', taskName, other, body)
}

function addHook(kind: 'before' | 'after', taskName: unknown, other: unknown, body: unknown): void {
  const registry = currentSession().registry
  const origin = callerLocation()
  const call = `${kind}(${typeof taskName === 'string' ? JSON.stringify(taskName) : String(taskName)}, …)`
  if (typeof taskName !== 'string') throw new ConfigError(`${call}: the task to hook must be a task's name, got ${typeof taskName}`, origin.value)
  if (body !== undefined && (typeof other !== 'string' || typeof body !== 'function')) {
    throw new ConfigError(`${call}: with three arguments, write ${kind}(task, 'new_task_name', async () => { … })`, origin.value)
  }
  if (typeof other === 'function') {
    const name = registry.hookTaskName(kind, taskName)
    registry.define(name, {}, other as TaskBody, origin)
    registry[kind](taskName, name, origin)
    return
  }
  if (typeof other !== 'string') throw new ConfigError(`${call}: the hook must be a task's name or a function, got ${typeof other}`, origin.value)
  if (typeof body === 'function') {
    if (registry.has(registry.qualify(other))) throw new ConfigError(`${call}: a task ${other} already exists; name the hook's new task otherwise, or hook ${other} itself: ${kind}(${JSON.stringify(taskName)}, ${JSON.stringify(other)})`, origin.value)
    registry.define(other, {}, body as TaskBody, origin)
  }
  registry[kind](taskName, other, origin)
}

/**
 * Runs a task with its hooks, once per run: a second `invoke` of the same task does nothing
 * unless `{ again: true }` (Capistrano's `invoke!`).
 * @throws UsageError for an unknown task (with the closest names)
 */
export function invoke(taskName: string, options: { again?: boolean } = {}): Promise<void> {
  const session = currentSession()
  const running = invokeTask(session, session.registry.qualify(taskName), options.again ?? false)
  return session.taskWork.getStore()?.track(running, `invoke(${JSON.stringify(taskName)})`, callerLocation()) ?? running
}

/**
 * Runs `block` once per host, each with its own `remote` (run, capture, test, upload, download,
 * within, withEnv, as, sudo). Hosts run in parallel by default, at most `--concurrency` at once.
 * As Capistrano's `on`, given hosts `ROLES=`/`HOSTS=` leave out are skipped (a line names them).
 * @param options - `in` (`parallel` | `sequence` | `groups`), `limit`, `wait` (seconds, default 2,
 *   between hosts or groups), `onError` (`stop` | `continue`), `ignoreFilters` (run on them anyway)
 * @throws RunFailedError naming the failed hosts, once running hosts finish (unless `onError: 'continue'`)
 * @example await on(roles('app'), { in: 'groups', limit: 2, wait: 0 }, async (r) => r.run(['touch', file]))
 * Warning: a thrown error in one host's block does not cancel the other hosts already running.
 */
export function on<T>(hosts: HostList, block: HostBlock<T>): Promise<Outcome<T>>
export function on<T>(hosts: HostList, options: OnOptions, block: HostBlock<T>): Promise<Outcome<T>>
export function on<T>(hosts: HostList, optionsOrBlock: OnOptions | HostBlock<T>, block?: HostBlock<T>): Promise<Outcome<T>> {
  const session = currentSession()
  const list = resolveHosts(session.inventory, hosts)
  const options = typeof optionsOrBlock === 'function' ? {} : optionsOrBlock
  const fn = typeof optionsOrBlock === 'function' ? optionsOrBlock : block
  if (typeof fn !== 'function') throw new UsageError('on(hosts, options, block): the block is missing; pass an async (remote) => { … } last.')
  const running = onHosts(session, list, options, fn)
  return session.taskWork.getStore()?.track(running, 'on()', callerLocation()) ?? running
}

/** Prints a line to the run's log (hidden by `--quiet` unless `level` is `warn`). */
export function log(text: string, level: 'info' | 'warn' = 'info'): void {
  if (level !== 'info' && level !== 'warn') throw new UsageError(`log(text, level): the level is "info" or "warn", got ${JSON.stringify(level)}`)
  currentSession().reporter.emit({ type: 'message', level, text: String(text) })
}

/**
 * Shows a live status block: redrawn in place on a terminal, printed every few seconds elsewhere.
 * Pass `final: true` once to print it for good.
 */
export function showProgress(lines: string[], options: { final?: boolean } = {}): void {
  currentSession().reporter.emit({ type: 'progress', lines, final: options.final ?? false })
}

/**
 * Registers `cleanup` to run if the run is interrupted (Ctrl-C, SIGTERM or SIGHUP; it is given
 * which) while the returned function has not been called: it should make the remote work of this
 * moment stop (e.g. kill agents it started), so the running tasks fail and their failure paths
 * run. Returns the unregistration.
 */
export function onInterrupt(cleanup: (cause: InterruptCause) => Promise<void>): () => void {
  return currentSession().interruption.add(cleanup)
}

/** Throws `InterruptedError` once the run was interrupted (Ctrl-C, SIGTERM, SIGHUP); long flows call it between steps. */
export function checkInterrupted(): void {
  checkInterruptedIn(currentSession())
}

/**
 * True under `--dry-run` (Capistrano's `dry_run?`): every command prints and "succeeds" with empty
 * output, so a task that checks remote state first should skip checks it cannot answer.
 */
export function isDryRun(): boolean {
  return currentSession().isDryRun
}

/** How many hosts this run works on at once (`--concurrency`, default 64). */
export function hostConcurrency(): number {
  return currentSession().hostLimit.concurrency
}
