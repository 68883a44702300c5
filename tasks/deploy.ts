// Capistrano 3's deploy flow and on-server layout (../shared/reference/capistrano.md), with the
// release carried by the murder swarm (or copied), a deploy lock, and wave-by-wave publishing.
import { hostname, userInfo } from 'node:os'
import { posix } from 'node:path'
import { DeployError, InterruptedError, RemoteCommandError, RunFailedError, UsageError, allServers, checkInterrupted, failedHosts, fetch, invoke, isDryRun, log, namespace, on, onlyHosts, quote, releaseRoles, set, task } from '../lib/index.ts'
import type { Host, HostContext } from '../lib/index.ts'
import {
  DRY_RUN_NEWEST_RELEASE, DRY_RUN_PREVIOUS_RELEASE, RELEASE_NAME, clearIncomingCommand, clearStaleArchivesCommand, clearUnpublishedCommand, deployLogLine, parseReleaseListing, releaseArchivePath, releaseListingCommand, releaseOf, releaseTimestamp, releasesToRemove, rollbackLogLine, rollbackTarget,
} from '../lib/deploy/releases.ts'
import { planWaves } from '../lib/deploy/waves.ts'
import { describeCurrentLinks } from '../lib/deploy/current-report.ts'
import { sharedLinksCommand } from '../lib/deploy/shared-links.ts'
import { ensureDirectoriesCommand } from '../lib/deploy/ensure-directories.ts'
import { deadHolderPid, isProcessRunning, lockHolderLine } from '../lib/deploy/lock-holder.ts'
import { prepareReleaseSource, removeReleaseSource, type ReleaseSource } from '../lib/deploy/release-source.ts'
import { projectRoot } from '../lib/config/project-root.ts'
import { listStages } from '../lib/inventory/stage-file.ts'
import { chain } from '../lib/ssh/command.ts'
import { perRun } from '../lib/runner/per-run.ts'
import { isFlagSet } from '../lib/torrent/murder-options.ts'
import {
  checkDeployInputs, checkRollbackInputs, readApplication, readDeployTo, readDeployVia, readDirectoryName, readKeepReleases, readSwarmEncryption,
  readLinkedPaths, readLocalUser, readReleaseName, readRollbackRelease, readTmpDir, readWaveSpec,
} from '../lib/deploy/deploy-inputs.ts'
import { distributeWithMurder, type ReleaseTarget } from './murder/deploy-swarm.ts'
import { commandHint } from '../lib/runner/command-hint.ts'
import { currentSession } from '../lib/runner/session.ts'

set('deploy_to', () => `/var/www/${application()}`)
set('keep_releases', 5)
set('linked_files', [])
set('linked_dirs', [])
set('tmp_dir', '/tmp')
set('release_timestamp', () => releaseTimestamp(new Date()))
set('current_directory', 'current')
set('releases_directory', 'releases')
set('shared_directory', 'shared')
set('deploy_via', 'murder')
set('swarm_encryption', true)
set('release_source', '')
set('local_user', () => process.env['USER'] || userInfo().username)
set('waves', '')

const DEPLOY_FLOW = ['starting', 'started', 'updating', 'updated', 'publishing', 'published', 'finishing', 'finished']
const ROLLBACK_FLOW = ['starting', 'started', 'reverting', 'reverted', 'publishing', 'published', 'finishing_rollback', 'finished']
const LOCK_FILE = 'deploy.lock'
/** sysexits' EX_TEMPFAIL: nothing went wrong, the fleet is busy; the same command later may succeed. */
const LOCK_BUSY_EXIT_CODE = 75

const application = (): string => readApplication(fetch)
const deployTo = (): string => readDeployTo(fetch)
const releasesPath = (): string => `${deployTo()}/${readDirectoryName(fetch, 'releases_directory')}`
const sharedPath = (): string => `${deployTo()}/${readDirectoryName(fetch, 'shared_directory')}`
const currentPath = (): string => `${deployTo()}/${readDirectoryName(fetch, 'current_directory')}`
const releaseName = (): string => readReleaseName(fetch)
const releasePath = (): string => `${releasesPath()}/${releaseName()}`
const INCOMING_SUFFIX = '.incoming'
const incomingPath = (): string => `${releasesPath()}/.${releaseName()}${INCOMING_SUFFIX}`
const archivePath = (): string => releaseArchivePath(readTmpDir(fetch), application(), releaseName())

/** The hosts this deploy changes: release roles after ROLES=/HOSTS= filters, less those that failed. */
function targets(): Host[] {
  const hosts = releaseRoles()
  if (hosts.length > 0) return hosts
  // max_fail let every host fail: a failed run, not a deployfile without servers.
  if (failedHosts().length > 0) throw new DeployError('every target host has failed (within max_fail); nothing is left to deploy to.', { exitCode: 1 })
  if (allServers().length > 0) throw new UsageError('No hosts to deploy to: every server is no_release or left out by ROLES=/HOSTS=; loosen them.')
  const stage = fetch<string | undefined>('stage', undefined)
  if (stage !== undefined) throw new UsageError(`No hosts to deploy to: roles/${stage}.yaml and the deployfile declare no servers.`)
  const stages = listStages(projectRoot())
  const known = stages === undefined || stages.length === 0 ? 'roles/STAGE.yaml' : `stages: ${stages.join(', ')}`
  throw new UsageError(`No hosts to deploy to: name a stage before the task (\`deploy STAGE deploy\`; ${known}), or declare servers in the deployfile.`)
}

/** What this run learned and did, which later steps (and the failure path) act on. */
interface DeployRun {
  /** Per host: where `current` pointed before this deploy. */
  previousCurrent: Map<string, string>
  /** Hosts where this run holds the deploy lock. */
  lockedHosts: Set<string>
  /** The line this run wrote into the lock files: unlock removes only a lock that still says it. */
  lockHolder: string | undefined
  /** Hosts whose lock another deploy took over (or someone cleared) during this run: nothing more is switched there. */
  lostLockHosts: Set<string>
  /** deploy:set_previous_revision read where `current` pointed: only then can a failed swap go back. */
  hasReadPrevious: boolean
  /** deploy:lock ran in this run (whether it took every lock or not). */
  hasTriedLock: boolean
  source: ReleaseSource | undefined
  /** The release deploy:revert_release picked: this run is a rollback. */
  rollbackRelease: string | undefined
  /** Hosts already on the rollback_release asked for: a rollback leaves them as they are. */
  alreadyRolledBack: Set<string>
  /** A deploy got as far as naming its release: on failure, that release must not stay half-made. */
  isMakingRelease: boolean
  /** Hosts where deploy:new_release_path found the release's name free: only there is it this run's to remove. */
  releaseHosts: Set<string>
  /** deploy or deploy:rollback, once begun: the other cannot follow in the same run. */
  flowBegun: string | undefined
}

const thisRun = perRun<DeployRun>(() => ({
  previousCurrent: new Map(),
  lockedHosts: new Set(),
  lockHolder: undefined,
  lostLockHosts: new Set(),
  hasReadPrevious: false,
  hasTriedLock: false,
  source: undefined,
  rollbackRelease: undefined,
  alreadyRolledBack: new Set(),
  isMakingRelease: false,
  releaseHosts: new Set(),
  flowBegun: undefined,
}))

async function swapCurrent(remote: HostContext, target: string): Promise<void> {
  // Capistrano's atomic swap: a new link, renamed over `current` (rename(2)); never a moment without it.
  // One command, so one round trip per host.
  const staging = `${releasesPath()}/${readDirectoryName(fetch, 'current_directory')}`
  const swap = chain([['ln', '-sfn', target, staging], ['mv', staging, `${deployTo()}/`]])
  // Not stopped by Ctrl-C half-way: a staging link left in releases/ would list as a release.
  await runWhileLockIsMine(remote, swap, { survivesInterrupt: true })
}

/** Said on stderr by a command the host's lock no longer allows, before what the lock now says. */
const LOCK_LOST = 'deploy lock lost:'

/** The host's deploy lock no longer names this run: another deploy owns the host now. */
class LockLostError extends DeployError {}

/**
 * Runs `command` only while the host's deploy lock still names this run: a deploy given unlock=1
 * meanwhile takes this run for dead and owns the host, so this run switches nothing there any more,
 * nor back. One command, so no round trip of its own.
 */
async function runWhileLockIsMine(remote: HostContext, command: string, options: { survivesInterrupt?: boolean } = {}): Promise<void> {
  const { lockHolder, lockedHosts } = thisRun()
  if (lockHolder === undefined || !lockedHosts.has(remote.host.name)) {
    await remote.run(command, options)
    return
  }
  const lock = `${deployTo()}/${LOCK_FILE}`
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

namespace('deploy', () => {
  task('starting', { desc: 'Start a deployment: lock, check, remember the current release' }, async () => {
    await invoke('deploy:lock')
    await invoke('deploy:check')
    await invoke('deploy:set_previous_revision')
  })
  task('started', async () => {})
  task('updating', { desc: 'Create the new release and link shared files' }, async () => {
    await invoke('deploy:new_release_path')
    await invoke('deploy:create_release')
    await invoke('deploy:set_current_revision')
    await invoke('deploy:symlink:shared')
  })
  task('updated', async () => {})
  task('reverting', { desc: 'Revert the server(s) to the previous release' }, async () => {
    await invoke('deploy:revert_release')
  })
  task('reverted', async () => {})
  task('publishing', { desc: 'Publish the release: swap current' }, async () => {
    await invoke('deploy:symlink:release')
  })
  task('published', async () => {})
  task('finishing', { desc: 'Finish the deployment, clean up old releases' }, async () => {
    await invoke('deploy:cleanup')
  })
  task('finishing_rollback', { desc: 'Finish the rollback, clean up the release rolled away from' }, async () => {
    await invoke('deploy:cleanup_rollback')
  })
  task('finished', { desc: 'Finish the deployment: log the revision, unlock' }, async () => {
    await invoke('deploy:log_revision')
    // Hosts that failed within max_fail after receiving the release do not keep it unpublished.
    const { isMakingRelease, releaseHosts } = thisRun()
    const kept = new Set(releaseRoles().map((host) => host.name))
    if (isMakingRelease) await removeUnpublishedRelease(allServers().filter((host) => releaseHosts.has(host.name) && !kept.has(host.name)))
    // Again: a deploy:unlock earlier on the command line (or in a hook) must not leave this run's lock.
    await invoke('deploy:unlock', { again: true })
  })
  task('failed', async () => {
    // Before the lock goes: no host keeps a half-made release a later rollback could pick.
    const { lockedHosts, isMakingRelease, releaseHosts } = thisRun()
    const touched = allServers().filter((host) => lockedHosts.has(host.name))
    if (isMakingRelease) await removeUnpublishedRelease(touched.filter((host) => releaseHosts.has(host.name)))
    try {
      await invoke('deploy:unlock', { again: true })
    } catch (error) {
      // The run's own failure is what to report; a lock left behind is said, not raised over it.
      const left = error instanceof RunFailedError ? [...error.failures.keys()].sort().join(',') : ''
      const clear = commandHint(`deploy:unlock unlock=1${left === '' ? '' : ` HOSTS=${left}`}`)
      log(`the deploy lock could not be released everywhere: ${(error as Error).message}; once reachable, \`${clear}\` clears it (or add unlock=1 to the next deploy)`, 'warn')
    }
    await reportCurrent(touched)
  })
  task('restart', async () => {})
  task('verify', { desc: 'Check a wave of freshly switched hosts (redefine it: e.g. an HTTP health check)' }, async () => {})
  task('switched_back', { desc: 'After a failed wave, on the hosts put back on their previous release (redefine it: e.g. restart them)' }, async () => {})

  task('lock', { desc: 'Take the deploy lock on every target host' }, async () => {
    const run = thisRun()
    run.hasTriedLock = true
    const lock = `${deployTo()}/${LOCK_FILE}`
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
        const take = await remote.run(`${ensureDirectoriesCommand([deployTo()])} && (set -C; printf '%s\\n' ${quote(holder)} > ${quote(lock)}) 2>/dev/null`, { allowFailure: true, survivesInterrupt: true })
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
        else throw new DeployError(`${remote.host.name}: cannot create the deploy lock ${lock} (${why}); check that ${deployTo()} can be created and written.`, { exitCode: 1 })
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
  })

  task('unlock', { desc: 'Release the deploy lock this run took (alone with unlock=1: clear any)' }, async () => {
    const run = thisRun()
    // Run alone it has nothing of its own to release: with unlock=1 it clears whatever lock is
    // there (a deploy that died left it); without, such a lock must not go unnoticed.
    if (run.lockedHosts.size === 0 && !run.hasTriedLock && run.flowBegun === undefined) {
      if (isFlagSet(fetch, 'unlock')) return clearLocks()
      log(`deploy:unlock releases only the lock this run took; to clear one a deploy that died left, run \`${commandHint('deploy:unlock unlock=1')}\` or add unlock=1 to your next deploy or deploy:rollback`, 'warn')
    }
    await releaseLock()
  })

  task('check', { desc: 'Check required files and directories exist' }, async () => {
    const linkedDirs = readLinkedPaths(fetch, 'linked_dirs')
    const linkedFiles = readLinkedPaths(fetch, 'linked_files')
    await on(targets(), async (remote) => {
      const shared = sharedPath()
      // A top-level linked file's directory is shared itself, once: not `mkdir -p shared/.`.
      const fileDirs = linkedFiles.map((file) => posix.dirname(file)).filter((dir) => dir !== '.').map((dir) => `${shared}/${dir}`)
      const dirs = [...new Set([shared, releasesPath(), ...linkedDirs.map((dir) => `${shared}/${dir}`), ...fileDirs])]
      // One round trip for the directories and every linked file; a second only to say what failed.
      const files = linkedFiles.map((file) => `[ -f ${quote(`${shared}/${file}`)} ]`)
      // `current` must be a link (or absent) for the swap to rename over it; found out at the swap,
      // the release would already be on every host.
      const currentIsLink = `{ [ -L ${quote(currentPath())} ] || [ ! -e ${quote(currentPath())} ]; }`
      if ((await remote.run([ensureDirectoriesCommand(dirs), ...files, currentIsLink].join(' && '), { allowFailure: true })).code === 0) return
      await remote.run(ensureDirectoriesCommand(dirs))
      if (!(await remote.test(currentIsLink))) {
        throw new DeployError(`${remote.host.name}: ${currentPath()} is not a symlink; move it out of the way (a release's files belong in ${releasesPath()}).`, { exitCode: 1 })
      }
      for (const file of linkedFiles) {
        if (!(await remote.test(['test', '-f', `${shared}/${file}`]))) {
          throw new DeployError(`${remote.host.name}: linked file ${shared}/${file} does not exist; create it there first.`, { exitCode: 1 })
        }
      }
    })
  })

  task('new_release_path', async () => {
    requireStep('deploy:new_release_path', thisRun().lockedHosts.size > 0, 'deploy (after deploy:lock)', 'it would clear half-made releases of a deploy that holds the lock')
    await on(targets(), async (remote) => {
      // Clears what a deploy killed mid-way left being filled or never published (we hold the lock:
      // nobody else is making one), and old archives failed deploys left in tmp_dir, unless this
      // release exists: one round trip, a second only to say which failed.
      const current = currentReleaseOf(remote.host)
      const unpublished = current === undefined ? ':' : clearUnpublishedCommand(releasesPath(), current, `${deployTo()}/revisions.log`)
      const clear = `test ! -e ${quote(releasePath())} && ${clearIncomingCommand(releasesPath(), INCOMING_SUFFIX)} && ${clearStaleArchivesCommand(readTmpDir(fetch), application())} && ${unpublished}`
      const cleared = await remote.run(clear, { quiet: true, allowFailure: true })
      const removed = cleared.stdout.split('\n').filter(Boolean)
      if (removed.length > 0) log(`${remote.host.name}: removed release(s) newer than current that a killed deploy never published: ${removed.join(', ')}`, 'warn')
      if (cleared.code !== 0) {
        if (await remote.test(['test', '-e', releasePath()])) {
          throw new DeployError(`${remote.host.name}: release ${releasePath()} already exists; deploy again in a second.`, { exitCode: 1 })
        }
        await remote.run(clearIncomingCommand(releasesPath(), INCOMING_SUFFIX), { quiet: true })
      }
      thisRun().releaseHosts.add(remote.host.name)
    })
    thisRun().isMakingRelease = true
    log(`release ${releasePath()} on ${targets().length} host(s) via ${readDeployVia(fetch)}`)
  })

  task('set_previous_revision', async () => {
    await on(targets(), async (remote) => {
      const link = await remote.run(['readlink', currentPath()], { quiet: true, allowFailure: true })
      // Its last line: a shell rc file's chatter comes before it, and going back would write it into the link.
      const target = lastLine(link.stdout)
      if (link.code === 0 && target !== '') thisRun().previousCurrent.set(remote.host.name, target)
    })
    thisRun().hasReadPrevious = true
  })

  task('create_release', { desc: 'Put the release on every target host (deploy_via murder or copy)' }, async () => {
    const run = thisRun()
    requireStep('deploy:create_release', run.isMakingRelease, 'deploy (after deploy:new_release_path)', 'it would make a release outside the deploy lock')
    const source = (run.source ??= await prepareSource())
    const via = readDeployVia(fetch)
    const hosts = targets()
    // Filled under a hidden name and renamed when complete, by the command that extracts it: `ls
    // releases` (ours and Capistrano's rollback) never lists a half-extracted release, even after a
    // kill -9 of this run. A failed run removes both (deploy:failed).
    const target = { incoming: incomingPath(), release: releasePath() }
    if (via === 'copy') await distributeByCopy(source, hosts, target)
    else await distributeWithMurder(source.tgzPath, hosts, target, `${application()}-${releaseName()}`, readTmpDir(fetch), application(), readSwarmEncryption(fetch))
    // Hosts that failed within max_fail leave the run here; what they got of the release goes.
    const remaining = new Set(targets().map((host) => host.name))
    await removeUnpublishedRelease(hosts.filter((host) => !remaining.has(host.name)))
  })

  task('set_current_revision', async () => {
    requireStep('deploy:set_current_revision', thisRun().isMakingRelease, 'deploy (after deploy:new_release_path)', 'it has no new release to write REVISION into')
    const sha = thisRun().source?.sha ?? 'unknown'
    await on(targets(), async (remote) => {
      // Capistrano writes it `within` the release; a full path spares the directory check's round trip.
      await remote.run(`printf '%s\\n' ${quote(sha)} > ${quote(`${releasePath()}/REVISION`)}`)
    })
  })

  namespace('symlink', () => {
    task('shared', { desc: 'Link linked_files and linked_dirs into the release' }, async () => {
      requireStep('deploy:symlink:shared', thisRun().isMakingRelease, 'deploy (after deploy:new_release_path)', 'it would link into a release directory no one made')
      const entries = [
        ...readLinkedPaths(fetch, 'linked_files').map((path) => ({ path, isDir: false })),
        ...readLinkedPaths(fetch, 'linked_dirs').map((path) => ({ path, isDir: true })),
      ]
      // Every link in one command per host: three round trips per linked path add up over a fleet.
      const command = sharedLinksCommand(entries, releasePath(), sharedPath())
      if (command === undefined) return
      await on(targets(), async (remote) => remote.run(command))
    })

    task('release', { desc: 'Swap current to the new release, wave by wave' }, async () => {
      // Alone it would point current at a release no one made, and a failed check would then
      // "restore" a previous link no one read: it is a step of deploy and deploy:rollback only.
      const { rollbackRelease, isMakingRelease, hasReadPrevious } = thisRun()
      if (rollbackRelease === undefined && !isMakingRelease) {
        throw new UsageError('deploy:symlink:release runs only inside deploy (after deploy:create_release); to switch current to a release already on the hosts, run deploy:rollback rollback_release=NAME.')
      }
      requireStep('deploy:symlink:release', hasReadPrevious, 'deploy or deploy:rollback (after deploy:starting)', 'a failed swap could not go back: where current pointed was never read')
      await publishInWaves(rollbackRelease === undefined ? releasePath() : `${releasesPath()}/${rollbackRelease}`, movingHosts())
    })
  })

  task('cleanup', { desc: 'Remove old releases beyond keep_releases' }, async () => {
    const keep = readKeepReleases(fetch)
    // As Capistrano's "Keeping 5 of 6 deployed releases on web1", one line per count, not per host.
    const keeping = new Map<string, string[]>()
    await on(targets(), async (remote) => {
      // One round trip: where `current` points on a line of its own, then the releases.
      const listing = await remote.capture(releaseListingCommand(currentPath(), releasesPath()))
      const parsed = parseReleaseListing(listing) ?? (isDryRun() ? { current: undefined, names: [] } : undefined)
      if (!parsed) throw new DeployError(`${remote.host.name}: cannot tell where ${currentPath()} points; no release removed.`, { exitCode: 1 })
      const doomed = releasesToRemove(parsed.names, keep, parsed.current)
      for (let start = 0; start < doomed.length; start += 100) {
        // Not stopped by Ctrl-C: a release half-removed would still be listed, and picked by a rollback.
        await remote.run(['rm', '-rf', ...doomed.slice(start, start + 100).map((name) => `${releasesPath()}/${name}`)], { survivesInterrupt: true })
      }
      if (doomed.length === 0) return
      const releases = parsed.names.filter((name) => RELEASE_NAME.test(name)).length
      const counts = `${releases - doomed.length} of ${releases}`
      keeping.set(counts, [...(keeping.get(counts) ?? []), remote.host.name])
    })
    for (const [counts, names] of keeping) log(`keeping ${counts} releases on ${names.sort().join(', ')}`)
    if (isDryRun()) log(`dry run: the hosts' releases are not listed, so no removal shows; each host would keep its newest ${keep} releases and the one current points to`)
  })

  task('revert_release', { desc: 'Pick the release to roll back to (rollback_release=TIMESTAMP, else the previous one)' }, async () => {
    const run = thisRun()
    requireStep('deploy:revert_release', run.lockedHosts.size > 0 && run.hasReadPrevious, 'deploy:rollback (after deploy:starting)', 'it would switch current outside the deploy lock, with no record of where it pointed to go back to')
    const requested = readRollbackRelease(fetch)
    const choices = new Map<string, string>()
    const { alreadyRolledBack } = thisRun()
    await on(targets(), async (remote) => {
      const names = (await remote.capture(`ls -xt ${quote(releasesPath())} 2>/dev/null || true`)).split(/\s+/).filter(Boolean)
      const current = currentReleaseOf(remote.host)
      const chosen = rollbackTarget(names, requested, current) ?? (isDryRun() ? (requested ?? DRY_RUN_PREVIOUS_RELEASE) : undefined)
      if (!chosen) {
        const why = requested === undefined ? 'there is no previous release' : `release ${requested} is not there`
        throw new DeployError(`${remote.host.name}: cannot roll back: ${why} in ${releasesPath()}.`, { exitCode: 1 })
      }
      // Nothing to move there (a host a max_fail deploy left behind, say): no swap, no log line.
      if (requested !== undefined && requested === current) alreadyRolledBack.add(remote.host.name)
      else choices.set(remote.host.name, chosen)
    })
    const already = targets().filter((host) => alreadyRolledBack.has(host.name)).map((host) => host.name)
    if (already.length > 0 && choices.size === 0) throw new DeployError(`cannot roll back: release ${requested} is already current on ${already.join(', ')}.`, { exitCode: 1 })
    if (already.length > 0) log(`${already.join(', ')}: already on release ${requested}; left as ${already.length > 1 ? 'they are' : 'it is'}`)
    if (isDryRun() && requested === undefined) log(`dry run: the hosts' releases are not listed, so the release rolled back to shows as ${DRY_RUN_PREVIOUS_RELEASE}`)
    const byRelease = new Map<string, string[]>()
    for (const { name } of targets()) {
      const release = choices.get(name)
      if (release !== undefined) byRelease.set(release, [...(byRelease.get(release) ?? []), name])
    }
    // One release for every host, or some would point `current` at a release they do not have.
    if (byRelease.size > 1) {
      const which = [...byRelease].map(([release, names]) => `${release} on ${names.join(', ')}`).join('; ')
      throw new DeployError(`hosts hold different previous releases (${which}); pass rollback_release=NAME of a release every host has, or leave some out with HOSTS=.`, { exitCode: 1 })
    }
    thisRun().rollbackRelease = [...byRelease.keys()][0]
  })

  task('cleanup_rollback', { desc: 'Archive and remove the release rolled away from' }, async () => {
    requireStep('deploy:cleanup_rollback', thisRun().rollbackRelease !== undefined, 'deploy:rollback (after deploy:revert_release)', 'it would archive and remove the newest release, whatever it is')
    await on(targets(), async (remote) => {
      // The release `current` left (cap takes the newest, the same one but after a rollback to an
      // older release, when the newest was live once and `current` left another).
      const left = currentReleaseOf(remote.host) ?? (isDryRun() ? DRY_RUN_NEWEST_RELEASE : undefined)
      const current = releaseOf(await remote.capture(['readlink', currentPath()]))
      if (left === undefined || left === current) return
      // As Capistrano's `tar -czf ARCHIVE RELEASE_PATH`: members named by the path, less its leading `/`.
      await remote.run(['tar', '-czf', `${deployTo()}/rolled-back-release-${left}.tar.gz`, '-C', '/', `${releasesPath()}/${left}`.slice(1)])
      await remote.run(['rm', '-rf', `${releasesPath()}/${left}`], { survivesInterrupt: true })
    })
  })

  task('log_revision', { desc: 'Append this deploy or rollback to revisions.log' }, async () => {
    const { isMakingRelease, rollbackRelease, source } = thisRun()
    requireStep('deploy:log_revision', isMakingRelease || rollbackRelease !== undefined, 'deploy or deploy:rollback', 'it has no release to log')
    const user = readLocalUser(fetch)
    const line =
      rollbackRelease === undefined
        ? deployLogLine({ branch: source?.branch ?? String(fetch('branch', 'unknown')), sha: source?.sha ?? 'unknown', release: releaseName(), user })
        : rollbackLogLine(user, rollbackRelease)
    const logged = await on(movingHosts(), async (remote) => {
      // Capistrano appends `within` releases/; the full path spares the directory check's round trip.
      await remote.run(`printf '%s\\n' ${quote(line)} >> ${quote(`${deployTo()}/revisions.log`)}`)
    })
    // What went out, in a CI log too: shown under -q, which hides every command.
    const text = `${isDryRun() ? 'dry run: would log ' : ''}${line} (${logged.values.size} host(s))`
    currentSession().reporter.emit({ type: 'message', level: 'outcome', text })
  })
})

task('deploy', { desc: 'Deploy a new release (Capistrano 3 flow)' }, async () => {
  beginFlow('deploy')
  // Checked and packed before any host is touched: a bad variable, a dirty tree or a bad release_source changes nothing.
  checkDeployInputs(fetch)
  targets()
  const release = await prepareSource()
  thisRun().source = release
  try {
    await runFlow(DEPLOY_FLOW)
  } finally {
    removeReleaseSource(release)
  }
})

/** The release comes from the deployfile's directory, not wherever the user stands. */
function prepareSource(): Promise<ReleaseSource> {
  const branch = fetch<unknown>('branch', undefined)
  return prepareReleaseSource(projectRoot(), String(fetch('release_source', '')), isFlagSet(fetch, 'allow_dirty'), branch === undefined ? undefined : String(branch))
}

namespace('deploy', () => {
  task('rollback', { desc: 'Roll back to the previous release' }, async () => {
    beginFlow('deploy:rollback')
    checkRollbackInputs(fetch)
    targets()
    await runFlow(ROLLBACK_FLOW)
  })
})

/**
 * A step of the deploy or rollback flow that acts on what an earlier step of it set up (the lock,
 * the release being made, the release picked): run alone, it refuses rather than act on nothing.
 */
function requireStep(step: string, isSetUp: boolean, inside: string, why: string): void {
  if (isSetUp) return
  throw new UsageError(`${step} runs only inside ${inside}: alone, ${why}; run \`${commandHint(inside.split(' ')[0] ?? 'deploy')}\`.`)
}

/** The hosts whose `current` this run moves: every target but those already on the rollback_release asked for. */
function movingHosts(): Host[] {
  const { alreadyRolledBack } = thisRun()
  return targets().filter((host) => !alreadyRolledBack.has(host.name))
}

/** The release `current` pointed at on the host when this run began (deploy:set_previous_revision). */
function currentReleaseOf(host: Host): string | undefined {
  return releaseOf(thisRun().previousCurrent.get(host.name) ?? '')
}

/** Begins `deploy` or `deploy:rollback`: a second flow in the run would find its steps done. */
function beginFlow(name: string): void {
  const run = thisRun()
  // Their steps run once per run (Rake's invoke), so a second flow would skip them and do nothing.
  if (run.flowBegun !== undefined) {
    throw new UsageError(`${name} cannot follow ${run.flowBegun} in one run: their steps run once per run, so it would skip them; run \`${commandHint(name)}\` as a command of its own.`)
  }
  run.flowBegun = name
}

async function runFlow(steps: readonly string[]): Promise<void> {
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

/** Says where `current` points on each host, grouped by release: the state a failed run leaves. */
async function reportCurrent(hosts: readonly Host[]): Promise<void> {
  const run = thisRun()
  const targets = new Map<string, string | null>()
  await on(hosts, { onError: 'continue' }, async (remote) => {
    const link = await remote.run(['readlink', currentPath()], { quiet: true, allowFailure: true })
    targets.set(remote.host.name, link.code === 0 ? lastLine(link.stdout) : null)
  })
  const links = hosts.map((host) => ({ host: host.name, target: targets.get(host.name), before: run.previousCurrent.get(host.name) }))
  for (const line of describeCurrentLinks(links, run.isMakingRelease ? releasePath() : undefined)) log(line, 'warn')
}

/**
 * Removes this run's release directory wherever `current` does not point at it, and its archive
 * and torrent in tmp_dir (best effort: a host may be gone; the next deploy clears those then).
 */
async function removeUnpublishedRelease(hosts: readonly Host[]): Promise<void> {
  if (hosts.length === 0) return
  const release = releasePath()
  const leftovers = [incomingPath(), archivePath(), `${archivePath()}.torrent`]
  await on(hosts, { onError: 'continue' }, async (remote) => {
    await remote.run(['sh', '-c', 'current=$1 release=$2; shift 2; rm -rf "$@"; test "$(readlink "$current")" = "$release" || rm -rf "$release"', 'sh', currentPath(), release, ...leftovers], { quiet: true })
  })
}

async function distributeByCopy(release: ReleaseSource, hosts: readonly Host[], target: ReleaseTarget): Promise<void> {
  const remoteTgz = archivePath()
  await on(hosts, async (remote) => {
    await remote.run(['mkdir', '-p', readTmpDir(fetch), target.incoming])
    await remote.upload(release.tgzPath, remoteTgz, { mode: 0o600 })
    await remote.run(chain([['tar', '-xzf', remoteTgz, '-C', target.incoming], ['mv', target.incoming, target.release], ['rm', '-f', remoteTgz]]))
  })
}

/**
 * Swaps `current` wave by wave; after each wave `deploy:verify` runs on that wave's hosts. If a
 * swap or the check fails, every host switched in this run goes back to where it was and later
 * waves never switch; a host that fails either within max_fail goes back alone.
 */
async function publishInWaves(target: string, hosts: Host[]): Promise<void> {
  const waves = planWaves(hosts, readWaveSpec(fetch))
  const switched: Host[] = []
  // A swap that ran and failed changed nothing (the link is renamed over `current` last), nor did
  // one the lost lock refused: nothing to put back there. A lost connection may have come after it.
  const unswapped = new Set<string>()
  for (const [index, wave] of waves.entries()) {
    if (waves.length > 1) log(`wave ${index + 1}/${waves.length}: ${wave.map((host) => host.name).join(', ')}`)
    let step = 'switching current'
    try {
      // Ctrl-C during the last wave's check or switch-back: this wave never switches.
      checkInterrupted()
      const swaps = await on(wave, async (remote) => {
        // Counted as its swap starts: it may switch before another's failure stops the wave (a host
        // still waiting for a slot then never starts, and has nothing to go back from).
        switched.push(remote.host)
        try {
          await swapCurrent(remote, target)
        } catch (error) {
          // An exit status says the command ran to its failure; a killed one (no status) may have swapped.
          if ((error instanceof RemoteCommandError && error.code !== null) || error instanceof LockLostError) unswapped.add(remote.host.name)
          throw error
        }
      })
      // Whatever max_fail allows: another deploy owns those hosts now, as when deploy:lock finds its lock.
      const lost = [...swaps.failures.values()].find((failure) => failure instanceof LockLostError)
      if (lost) throw lost
      step = 'deploy:verify'
      await onlyHosts(wave, () => invoke('deploy:verify', { again: true }))
      // Ctrl-C between waves is a failed wave: what this run switched goes back.
      checkInterrupted()
      step = 'switching back the hosts that failed within max_fail'
      await restoreDropped(wave, unswapped)
    } catch (error) {
      const toRestore = switched.filter((host) => !unswapped.has(host.name))
      const stuck = new Set((await restorePrevious(toRestore)).map((host) => host.name))
      const restored = toRestore.filter((host) => !stuck.has(host.name))
      await afterSwitchingBack(restored)
      const never = waves.slice(index + 1).flat()
      if (restored.length > 0) log(`rolled back ${restored.map((h) => h.name).join(', ')} to their previous release`, 'warn')
      if (stuck.size > 0) log(`could not switch back ${[...stuck].join(', ')} (said above); current there is as the failure left it`, 'warn')
      if (never.length > 0) log(`never switched: ${never.map((h) => h.name).join(', ')}`, 'warn')
      if (error instanceof InterruptedError) throw error
      const where = waves.length > 1 ? ` in wave ${index + 1} of ${waves.length}` : ''
      const undone = stuck.size > 0 ? `${[...stuck].join(', ')} could not be switched back` : restored.length > 0 ? 'switched hosts were rolled back' : 'no host had switched'
      throw new DeployError(`${step} failed${where} (${(error as Error).message}); ${undone}.`, { exitCode: 1, cause: error })
    }
  }
}

/**
 * The wave's hosts that failed within max_fail: one whose swap failed keeps its `current`, one
 * whose check failed goes back alone. One whose lock another deploy took over meanwhile stops the
 * run, whatever max_fail allows.
 */
async function restoreDropped(wave: readonly Host[], unswapped: ReadonlySet<string>): Promise<void> {
  const kept = new Set(releaseRoles().map((host) => host.name))
  const dropped = wave.filter((host) => !kept.has(host.name))
  const [unchanged, switchedBack] = [dropped.filter((host) => unswapped.has(host.name)), dropped.filter((host) => !unswapped.has(host.name))]
  if (unchanged.length > 0) log(`${unchanged.map((h) => h.name).join(', ')}: swap failed within max_fail; current left as it was`, 'warn')
  if (switchedBack.length === 0) return
  log(`${switchedBack.map((h) => h.name).join(', ')}: failed within max_fail; switching back to the previous release`, 'warn')
  const stuck = await restorePrevious(switchedBack)
  const { lostLockHosts } = thisRun()
  const lost = stuck.filter((host) => lostLockHosts.has(host.name))
  if (lost.length > 0) throw new DeployError(`the deploy lock of ${lost.map((h) => h.name).join(', ')} is another deploy's now; this run stops`, { exitCode: 1 })
  if (stuck.length > 0) log(`could not switch back ${stuck.map((h) => h.name).join(', ')} (said above); current there is as the failure left it`, 'warn')
}

/** unlock=1: removes the deploy lock on every target host, whoever holds it, saying whose it was. */
async function clearLocks(): Promise<void> {
  const lock = `${deployTo()}/${LOCK_FILE}`
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
  const lock = `${deployTo()}/${LOCK_FILE}`
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

/** A command's last line of output: what a shell rc file prints comes before it. */
function lastLine(output: string): string {
  return output.trim().split('\n').at(-1) ?? ''
}

/**
 * deploy:switched_back, with roles() narrowed to the hosts put back that have not failed: what
 * deploy:verify did there (a restart into the new release) is the user's to undo. The run is
 * failing already: its own failure is what to report.
 */
async function afterSwitchingBack(hosts: readonly Host[]): Promise<void> {
  try {
    await onlyHosts(hosts, () => invoke('deploy:switched_back', { again: true }))
  } catch (error) {
    log(`deploy:switched_back failed: ${(error as Error).message}`, 'warn')
  }
}

/**
 * Puts `current` back where it was before this run on each host; returns the hosts it could not
 * (each failure already said), among them those whose lock another deploy took over: not tried.
 */
async function restorePrevious(hosts: readonly Host[]): Promise<Host[]> {
  const { lostLockHosts } = thisRun()
  const outcome = await on(hosts.filter((host) => !lostLockHosts.has(host.name)), { onError: 'continue' }, async (remote) => {
    const previous = thisRun().previousCurrent.get(remote.host.name)
    if (previous === undefined) await runWhileLockIsMine(remote, chain([['rm', '-f', currentPath()]]))
    else await swapCurrent(remote, previous)
    log(`${remote.host.name}: current → ${previous ?? '(none)'}`)
  })
  return hosts.filter((host) => lostLockHosts.has(host.name) || outcome.failures.has(host.name))
}

