// The deploy lock: taken atomically on every target host, released only while it still names this
// run, cleared by unlock=1; commands that must not run once another deploy owns a host.
import { hostname } from 'node:os'
import { DeployError, RemoteCommandError, RunFailedError, allServers, fetch, isDryRun, log, on, quote } from '../../lib/index.ts'
import type { HostContext } from '../../lib/index.ts'
import { ensureDirectoriesCommand } from '../../lib/deploy/ensure-directories.ts'
import { deadHolderPid, isProcessRunning, lockHolderLine } from '../../lib/deploy/lock-holder.ts'
import { isFlagSet } from '../../lib/torrent/murder-options.ts'
import { readLocalUser } from '../../lib/deploy/deploy-inputs.ts'
import { commandHint } from '../../lib/runner/command-hint.ts'
import { currentSession } from '../../lib/runner/session.ts'
import { application, deployPath, targets } from './layout.ts'
import { thisRun } from './run-state.ts'

const LOCK_FILE = 'deploy.lock'
/** sysexits' EX_TEMPFAIL: nothing went wrong, the fleet is busy; the same command later may succeed. */
const LOCK_BUSY_EXIT_CODE = 75

/** Said on stderr by a command the host's lock no longer allows, before what the lock now says. */
const LOCK_LOST = 'deploy lock lost:'

/** The host's deploy lock no longer names this run: another deploy owns the host now. */
export class LockLostError extends DeployError {}

/**
 * Runs `command` only while the host's deploy lock still names this run: a deploy given unlock=1
 * meanwhile takes this run for dead and owns the host, so this run switches nothing there any more,
 * nor back. One command, so no round trip of its own.
 */
export async function runWhileLockIsMine(remote: HostContext, command: string, options: { survivesInterrupt?: boolean } = {}): Promise<void> {
  const { lockHolder, lockedHosts } = thisRun()
  if (lockHolder === undefined || !lockedHosts.has(remote.host.name)) {
    await remote.run(command, options)
    return
  }
  const lock = `${deployPath()}/${LOCK_FILE}`
  const guarded = `if [ "$(cat ${quote(lock)} 2>/dev/null)" = ${quote(lockHolder)} ]; then ${command}; else echo "${LOCK_LOST} $(cat ${quote(lock)} 2>/dev/null || echo gone)" >&2; false; fi`
  const result = await remote.run(guarded, { ...options, allowFailure: true })
  if (result.code === 0) return
  const said = result.stderr.split('\n').find((line) => line.startsWith(LOCK_LOST))
  if (said === undefined) throw new RemoteCommandError(remote.host.name, guarded, result.code, result.stderr.split('\n').slice(-2))
  thisRun().lostLockHosts.add(remote.host.name)
  const now = said.slice(LOCK_LOST.length).trim()
  const state = now === 'gone' ? 'is gone (cleared by deploy:unlock unlock=1, or by hand)' : `is now held by ${now || 'no one (an empty file)'} (another deploy's unlock=1)`
  throw new LockLostError(`${remote.host.name}: the deploy lock ${lock} ${state}; this run switches current there no more`, { exitCode: 1 })
}

/** unlock=1: removes the deploy lock on every target host, whoever holds it, saying whose it was. */
async function clearLocks(): Promise<void> {
  const lock = `${deployPath()}/${LOCK_FILE}`
  const byHolder = new Map<string, string[]>()
  await on(targets(), async (remote) => {
    // The marker: a shell rc file's chatter on stdout is no deploy's name.
    const cleared = await remote.run(['sh', '-c', 'if [ -e "$1" ]; then printf "held by "; cat "$1"; echo; rm -f "$1"; fi', 'sh', lock], { quiet: true })
    const said = cleared.stdout.split('\n').find((line) => line.startsWith('held by'))
    const holder = said?.trim() === 'held by' ? 'held by no one (an empty file)' : said
    if (holder !== undefined) byHolder.set(holder, [...(byHolder.get(holder) ?? []), remote.host.name])
  })
  if (isDryRun()) return log(`dry run: a deploy lock ${lock} found would be cleared here, naming who held it (unlock=1)`)
  if (byHolder.size === 0) log(`no deploy lock ${lock} to clear (unlock=1)`)
  for (const [holder, names] of byHolder) log(`cleared the deploy lock ${lock} ${holder} on ${names.sort().join(', ')} (unlock=1)`, 'warn')
}

/**
 * Releases the deploy lock on the hosts where this run took it, only while the lock still names
 * this run: after an `unlock=1` elsewhere it is another deploy's.
 */
async function releaseLock(): Promise<void> {
  const run = thisRun()
  const lock = `${deployPath()}/${LOCK_FILE}`
  const mine = allServers().filter((host) => run.lockedHosts.has(host.name))
  await on(mine, async (remote) => {
    const script = 'if [ "$(cat "$1" 2>/dev/null)" = "$2" ]; then rm -f "$1"; elif [ -e "$1" ]; then printf "held by "; cat "$1"; fi'
    const released = await remote.run(['sh', '-c', script, 'sh', lock, run.lockHolder ?? ''], { quiet: true })
    // The marker: a shell rc file's chatter on stdout is no other deploy's name.
    const other = released.stdout.split('\n').find((line) => line.startsWith('held by '))
    if (other !== undefined) log(`${remote.host.name}: the deploy lock ${lock} is now ${other}; left in place`, 'warn')
  })
  run.lockedHosts.clear()
}

/**
 * deploy:lock: creates the lock file on every target host, atomically; a lock another deploy holds
 * fails the run, whatever max_fail allows, saying who holds it (exit 75 when retrying may help).
 */
export async function takeLock(): Promise<void> {
  const run = thisRun()
  run.hasTriedLock = true
  const lock = `${deployPath()}/${LOCK_FILE}`
  const holder = (run.lockHolder ??= lockHolderLine(readLocalUser(fetch), hostname(), process.pid, new Date()))
  if (isFlagSet(fetch, 'unlock')) await clearLocks()
  // A host that cannot be reached or written is a failed host (max_fail may carry on without it);
  // a lock another deploy holds is a conflict between people, and stops the run whatever max_fail.
  const conflicts = new Map<string, Error>()
  // A holder that was a run on this machine whose process is gone: that deploy died; retrying will not mend it.
  let hasDeadHolder = false
  try {
    await on(targets(), async (remote) => {
      // noclobber makes the create atomic: two deploys racing cannot both win. One round trip with
      // the mkdir; only a lock not taken costs a second, to say by whom (or why mkdir failed).
      // Not stopped by Ctrl-C: killed once the file exists, the lock would be taken but not known as this run's to release.
      const take = await remote.run(`${ensureDirectoriesCommand([deployPath()])} && (set -C; printf '%s\\n' ${quote(holder)} > ${quote(lock)}) 2>/dev/null`, { allowFailure: true, survivesInterrupt: true })
      if (take.code === 0) {
        thisRun().lockedHosts.add(remote.host.name)
        return
      }
      const held = await remote.run(['cat', lock], { quiet: true, allowFailure: true })
      if (held.code === 0) {
        const heldBy = held.stdout.trim() || 'someone'
        const deadPid = deadHolderPid(heldBy, hostname(), isProcessRunning)
        if (deadPid !== undefined) hasDeadHolder = true
        const advice = deadPid === undefined ? 'wait, or pass unlock=1 if that deploy died.' : `no process ${deadPid} runs here on ${hostname()}: if that deploy ran on this machine, it ended without releasing this lock (it died, or could not reach this host at its end); pass unlock=1 to clear it.`
        conflicts.set(remote.host.name, new DeployError(`${application()} is being deployed by ${heldBy} (lock ${lock}); ${advice}`, { exitCode: 1 }))
        return
      }
      const why = take.stderr.trim().split('\n').at(-1)
      // No mkdir error: the lock was there, then gone before we could read who held it.
      if (!why) conflicts.set(remote.host.name, new DeployError(`the deploy lock ${lock} was released while this deploy tried to take it; deploy again.`, { exitCode: 1 }))
      else throw new DeployError(`${remote.host.name}: cannot create the deploy lock ${lock} (${why}); check that ${deployPath()} can be created and written.`, { exitCode: 1 })
    })
  } catch (error) {
    await releaseLock()
    // Failed hosts beyond max_fail: the hosts whose lock another deploy holds are listed too.
    if (error instanceof RunFailedError && conflicts.size > 0) throw new RunFailedError(error.message, new Map([...conflicts, ...error.failures]))
    throw error
  }
  if (conflicts.size > 0) {
    await releaseLock()
    // Each such host is listed as failed, with who holds its lock; no max_fail carries on past them.
    // Exit 75 (EX_TEMPFAIL, "try again later"): a CI job can wait and retry rather than page someone;
    // not when a host also failed for itself (max_fail carried on past it): a retry would not mend that.
    const exitCode = currentSession().failedHosts.size === 0 && !hasDeadHolder ? LOCK_BUSY_EXIT_CODE : 1
    throw new RunFailedError(`the deploy lock is held on ${conflicts.size} host(s): ${[...conflicts.keys()].join(', ')}`, conflicts, exitCode)
  }
  // Taken outside deploy and deploy:rollback (as cap's deploy:lock), it outlives the run: said, so that the next deploy's refusal is no surprise.
  if (run.flowBegun === undefined && !isDryRun()) {
    log(`the deploy lock stays on ${run.lockedHosts.size} host(s) after this run, unless deploy:unlock runs in it; \`${commandHint('deploy:unlock unlock=1')}\` clears it`, 'warn')
  }
}

/** deploy:unlock: releases this run's lock; run alone with unlock=1, clears any lock. */
export async function unlockDeploy(): Promise<void> {
  const run = thisRun()
  // Run alone it has nothing of its own to release: with unlock=1 it clears whatever lock is
  // there (a deploy that died left it); without, such a lock must not go unnoticed.
  if (run.lockedHosts.size === 0 && !run.hasTriedLock && run.flowBegun === undefined) {
    if (isFlagSet(fetch, 'unlock')) return clearLocks()
    log(`deploy:unlock releases only the lock this run took; to clear one a deploy that died left, run \`${commandHint('deploy:unlock unlock=1')}\` or add unlock=1 to your next deploy or deploy:rollback`, 'warn')
  }
  await releaseLock()
}
