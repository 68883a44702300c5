import pLimit from 'p-limit'
import { DeployError, RunFailedError, UsageError } from '../errors.ts'
import { describeThrown } from './local-commands.ts'
import { InterruptedError } from './interrupt.ts'
import { readDefaultEnv } from '../ssh/default-env.ts'
import { HostContext } from '../ssh/host-context.ts'
import { describeBudget } from './fail-budget.ts'
import { checkStrategyOptions, NOT_STARTED, runWithStrategy, type Outcome, type StrategyOptions } from './strategies.ts'
import { whyLeftOut } from '../inventory/filter.ts'
import type { Host } from '../inventory/host.ts'
import type { Session } from './session.ts'

export interface OnOptions extends StrategyOptions {
  /**
   * `stop` (default, Capistrano): a failure on any host fails the task once the running hosts finish.
   * `continue`: failed hosts are reported in the summary, left out of every later `roles()` of the
   * run, and the run goes on; it still exits 1 at the end.
   * `fail`: as `stop`, whatever max_fail allows: hosts the run cannot go on without (a swarm's
   * tracker and seeder).
   */
  onError?: 'stop' | 'continue' | 'fail'
  /**
   * `true`: run on given hosts even when `ROLES=`/`HOSTS=` leave them out, for hosts that serve a
   * narrowed run (a swarm's tracker and seeder). Otherwise, as Capistrano's `on`, only the given
   * hosts the filters keep.
   */
  ignoreFilters?: boolean
}

export type HostBlock<T> = (remote: HostContext) => Promise<T>

/**
 * Runs `block` once per given host that `ROLES=`/`HOSTS=` keep (every one with `ignoreFilters`),
 * under the run's host limit and the block's own strategy.
 */
export async function onHosts<T>(
  session: Session,
  given: readonly Host[],
  options: OnOptions,
  block: HostBlock<T>
): Promise<Outcome<T>> {
  checkOnOptions(options)
  // Read once per call: a bad default_env stops it before any host starts.
  const defaultEnv = readDefaultEnv(session.variables.fetch('default_env', undefined))
  const baseScope = Object.keys(defaultEnv).length > 0 ? { defaultEnv } : {}
  const hosts = options.ignoreFilters === true ? given : keptByFilters(session, given)
  if (given.length === 0 && session.inventory.all().length === 0 && !session.hasWarnedNoServers) {
    // Otherwise the task "succeeds" having done nothing anywhere.
    session.hasWarnedNoServers = true
    const text = 'no servers to run on: give a stage (`deploy STAGE TASK`, from roles/STAGE.yaml) or declare servers in the deployfile'
    session.reporter.emit({ type: 'message', level: 'warn', text })
  }
  const isNested = session.insideOn.getStore() === true
  // Begun before Ctrl-C: hosts not started yet never start. (Failure paths' blocks begin after it.)
  const isBegunBeforeInterrupt = !session.interruption.isInterrupted
  const isCutShort = () => isBegunBeforeInterrupt && session.interruption.isInterrupted
  // One global limiter for the run plus this block's own: nested calls must not share one (p-limit deadlock).
  const ownLimit = options.in === 'parallel' || options.in === undefined ? pLimit(options.limit ?? Infinity) : undefined
  // Hosts whose block failed, known before their slot frees (the outcome learns it a few ticks later).
  const failing = new Set<string>()
  // Ctrl-C, or a failure (unless onError: 'continue' or max_fail still allows it), stops the hosts
  // not started yet (in parallel, those waiting for a slot).
  const isStopping = () => isCutShort() || (options.onError !== 'continue' && failing.size > 0 && (options.onError === 'fail' || !session.isWithinFailBudget(failing)))
  const work = (host: Host): Promise<T | typeof NOT_STARTED> => {
    const start = async () => {
      try {
        // Listed among the failed hosts, saying why nothing ran there.
        if (isCutShort()) throw new InterruptedError(`not started: ${session.interruption.cause} came first`, session.interruption.cause)
        // A host that waited for a slot (limit, --concurrency) while another failed: listed as never started.
        if (isStopping()) return NOT_STARTED
        return await session.insideOn.run(true, async () => {
          const remote = new HostContext(host, session.backend, session.reporter, session.downloadedTo, baseScope)
          const value = await block(remote)
          await remote.checkNothingLeftRunning()
          return value
        })
      } catch (error) {
        failing.add(host.name)
        throw error
      }
    }
    const runLimit = session.insideCleanup.getStore() === true ? session.cleanupLimit : session.hostLimit
    const limited = isNested ? start : () => runLimit(start)
    return ownLimit ? ownLimit(limited) : limited()
  }
  // A dry run shows the pacing's order, not its waits: nothing ran that would need them.
  const paced = { ...options, limit: ownLimit ? undefined : options.limit, ...(session.isDryRun ? { wait: 0 } : {}) }
  const outcome = await runWithStrategy(hosts, paced, work, isStopping)
  for (const name of outcome.values.keys()) session.touchedHosts.add(name)
  // Hosts after a failure never start: the summary says so.
  for (const host of hosts) if (!outcome.values.has(host.name) && !outcome.failures.has(host.name)) session.unstartedHosts.add(host.name)
  for (const [name, error] of outcome.failures) {
    // Not one of ours (a TypeError in the block, a failed `$`): the summary says where the deployfile threw it.
    const { message, at } = error instanceof DeployError ? { message: error.message, at: undefined } : describeThrown(error)
    const shown = at === undefined && message === error.message ? error : new DeployError(at === undefined ? message : `${message} (at ${at})`, { exitCode: 1, cause: error })
    // A host's first failure is its cause: a later one (putting it back, say) does not replace it.
    if (!session.failedHosts.has(name)) session.failedHosts.set(name, shown)
    session.reporter.emit({ type: 'host-failed', host: name, message: shown.message })
  }
  if (outcome.failures.size > 0 && options.onError !== 'continue') {
    const names = [...outcome.failures.keys()]
    // Cut short by Ctrl-C, the run is ending: its failures are not carried on past, whatever max_fail allows.
    if (session.isWithinFailBudget() && !isCutShort() && options.onError !== 'fail') {
      const total = `${session.failedHosts.size} of ${session.targetCount} hosts failed`
      session.reporter.emit({ type: 'message', level: 'warn', text: `carrying on without ${names.join(', ')}: ${total}, within max_fail=${describeBudget(session.failBudget)}` })
      return outcome
    }
    throw new RunFailedError(`failed on ${names.length} of ${hosts.length} hosts: ${names.join(', ')}`, outcome.failures)
  }
  return outcome
}

/** The given hosts `ROLES=`/`HOSTS=` keep; a line (once a run) names the others, as nothing runs there. */
function keptByFilters(session: Session, hosts: readonly Host[]): readonly Host[] {
  const leftOut = whyLeftOut(hosts, session.filter)
  if (leftOut.length === 0) return hosts
  const namesBy = new Map<string, string[]>()
  for (const { host, by } of leftOut) {
    const filters = `${by.join(' and ')} ${by.length > 1 ? 'leave' : 'leaves'}`
    namesBy.set(filters, [...(namesBy.get(filters) ?? []), host.name])
  }
  const text = `on(): ${[...namesBy].map(([filters, names]) => `${filters} out ${names.join(', ')}`).join('; ')}`
  if (!session.filterSkipsSaid.has(text)) {
    session.filterSkipsSaid.add(text)
    session.reporter.emit({ type: 'message', level: 'info', text })
  }
  const left = new Set(leftOut.map(({ host }) => host))
  return hosts.filter((host) => !left.has(host))
}

/** Every option `on()` reads: another key is a typo, which would otherwise pass unseen. */
const ON_OPTIONS = ['in', 'limit', 'wait', 'onError', 'ignoreFilters']

function checkOnOptions(options: OnOptions): void {
  if (typeof options !== 'object' || options === null) throw new UsageError('on(hosts, options, block): options must be an object such as { in: "sequence" }')
  const unknown = Object.keys(options).filter((key) => !ON_OPTIONS.includes(key))
  if (unknown.length > 0) throw new UsageError(`on(): unknown option ${unknown.map((key) => JSON.stringify(key)).join(', ')}; the options are ${ON_OPTIONS.join(', ')}`)
  checkStrategyOptions(options)
  if (options.onError !== undefined && options.onError !== 'stop' && options.onError !== 'continue' && options.onError !== 'fail') {
    throw new UsageError(`on(): "onError" must be "stop", "continue" or "fail", got ${JSON.stringify(options.onError)}`)
  }
  if (options.ignoreFilters !== undefined && typeof options.ignoreFilters !== 'boolean') {
    throw new UsageError(`on(): "ignoreFilters" must be true or false, got ${JSON.stringify(options.ignoreFilters)}`)
  }
}
