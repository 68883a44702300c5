import { AsyncLocalStorage } from 'node:async_hooks'
import pLimit, { type LimitFunction } from 'p-limit'
import { Variables } from '../config/variables.ts'
import { Inventory } from '../inventory/inventory.ts'
import { applyFilter, type HostFilter } from '../inventory/filter.ts'
import { Registry } from '../registry.ts'
import { DryRunBackend } from '../ssh/dry-run-backend.ts'
import type { Backend } from '../ssh/backend.ts'
import type { Host } from '../inventory/host.ts'
import type { Reporter } from '../report/events.ts'
import { allowedFailures, NO_FAILURES, type FailBudget } from './fail-budget.ts'
import { Interruption } from './interrupt.ts'
import { NO_TERMINAL, type Terminal } from '../config/question.ts'
import { UnawaitedWork } from './unawaited-work.ts'

export const DEFAULT_CONCURRENCY = 64

/**
 * Everything one `deploy` invocation knows: the configuration the deployfile builds
 * (variables, inventory, tasks) and, once the CLI starts running, how to reach hosts.
 */
export class Session {
  readonly variables = new Variables()
  readonly inventory = new Inventory()
  readonly registry = new Registry()
  filter: HostFilter = { roles: [], hosts: [] }
  reporter: Reporter = { emit: () => {} }
  /** Where a task's data goes (doctor's report), apart from the run's log on stderr: secrets masked by the CLI. */
  stdout: { write(text: string): void } = process.stdout
  /** What the running task body has started (on(), invoke()) and not yet seen settle. */
  readonly taskWork = new AsyncLocalStorage<UnawaitedWork>()
  /** This run's downloads: local path → the host that last wrote it ('' once said to be shared). */
  readonly downloadedTo = new Map<string, string>()
  /** Variables fetched without a default though nothing set them, already said (a typo, usually). */
  readonly unsetVariablesSaid = new Set<string>()
  /** Where `ask` asks (the CLI's terminal, when stdin is one). */
  terminal: Terminal = NO_TERMINAL
  /** The stage file's ssh_config, if it names one (else ~/.ssh/config is read). */
  sshConfigPath: string | undefined
  backend: Backend = new DryRunBackend()
  /** `--dry-run`: commands are printed, not run; every command "succeeds" with empty output. */
  isDryRun = false
  /** Bounds how many hosts work at once across the whole run (--concurrency). */
  hostLimit: LimitFunction = pLimit(DEFAULT_CONCURRENCY)
  /**
   * The same bound for Ctrl-C's cleanups: the blocks they undo hold hostLimit's slots until the
   * cleanup stops their commands, so a cleanup waiting for one of those slots would wait for ever.
   */
  cleanupLimit: LimitFunction = pLimit(DEFAULT_CONCURRENCY)
  /** True while Ctrl-C's cleanups run. */
  readonly insideCleanup = new AsyncLocalStorage<boolean>()
  /** Tasks already run: a task runs once per run unless re-enabled (Rake). */
  readonly ranTasks = new Set<string>()
  /** Hosts that failed in an `on` block that carried on; later `roles()` leave them out. */
  readonly failedHosts = new Map<string, Error>()
  /** `max_fail`: failed hosts the run carries on past, of `targetCount` hosts (set when the run starts). */
  failBudget: FailBudget = NO_FAILURES
  targetCount = 0
  /** Ctrl-C: whether it came, and the cleanups that undo the remote work running now. */
  readonly interruption = new Interruption()
  /** Said once: `on` found no server at all (no stage given, none declared). */
  hasWarnedNoServers = false
  /** Tasks already said to have a role no server has: a task invoked again (deploy:verify, once per wave) says it once. */
  readonly tasksWarnedOfUnknownRoles = new Set<string>()
  /** Roles `roles()` was asked for that no server has, already said. */
  readonly rolesSaidUnknown = new Set<string>()
  /** Lines saying which given hosts `on()` left out by ROLES=/HOSTS=, already said. */
  readonly filterSkipsSaid = new Set<string>()
  /** Hosts that completed at least one remote block. */
  readonly touchedHosts = new Set<string>()
  /** Hosts an `on` block never started, since an earlier host's failure stopped it (in sequence or groups). */
  readonly unstartedHosts = new Set<string>()
  readonly taskTimings: { name: string; durationMs: number; ok: boolean }[] = []
  /** The tasks being invoked, outermost first, through hooks and `invoke`: bounds their depth. */
  readonly invocationChain = new AsyncLocalStorage<readonly string[]>()
  /** True inside an `on` block, so nested blocks do not take a second global slot (p-limit deadlock). */
  readonly insideOn = new AsyncLocalStorage<boolean>()

  /**
   * Whether every host failed so far, with `alsoFailing` (failures not yet recorded), is within
   * `max_fail`, so the run goes on without them.
   */
  isWithinFailBudget(alsoFailing: Iterable<string> = []): boolean {
    const failed = new Set([...this.failedHosts.keys(), ...alsoFailing])
    return failed.size <= allowedFailures(this.failBudget, this.targetCount)
  }

  setConcurrency(concurrency: number): void {
    this.hostLimit = pLimit(concurrency)
    this.cleanupLimit = pLimit(concurrency)
  }

  /**
   * Narrows every `roles()` inside a callback to some hosts (a deploy wave); `withFailed`: those of
   * them that failed too (deploy:switched_back, on every host put back, the one whose check failed).
   */
  readonly hostScope = new AsyncLocalStorage<{ names: ReadonlySet<string>; withFailed: boolean }>()

  /** The hosts of these roles (all hosts if none) after ROLES=/HOSTS= filters and scope, minus hosts that failed. */
  hostsFor(roles: readonly string[]): Host[] {
    const hosts = roles.length === 0 ? this.inventory.all() : this.inventory.withRoles(roles)
    const scope = this.hostScope.getStore()
    return applyFilter(hosts, this.filter).filter(
      (host) => (scope === undefined || scope.names.has(host.name)) && (!this.failedHosts.has(host.name) || scope?.withFailed === true)
    )
  }
}

const SESSION_KEY = Symbol.for('murder.session')
type GlobalWithSession = typeof globalThis & { [SESSION_KEY]?: Session }

/**
 * The DSL is a set of plain functions (like Capistrano's), so they find the session through a
 * global; keyed by a registered symbol so that two copies of this module still share it.
 */
export function currentSession(): Session {
  const holder = globalThis as GlobalWithSession
  holder[SESSION_KEY] ??= new Session()
  return holder[SESSION_KEY]
}

export function resetSession(): Session {
  const session = new Session()
  ;(globalThis as GlobalWithSession)[SESSION_KEY] = session
  return session
}
