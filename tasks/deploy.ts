// Capistrano 3's deploy flow and on-server layout (../shared/reference/capistrano.md), with the
// release carried by the murder swarm (or copied), a deploy lock, and wave-by-wave publishing. The
// tasks are defined here; the work behind them is in deploy/: the layout, the run's state, the
// flows, the lock, publishing, rollback, and the failure path.
import { userInfo } from 'node:os'
import { DeployError, RunFailedError, UsageError, allServers, fetch, invoke, isDryRun, log, namespace, on, quote, releaseRoles, set, task } from '../lib/index.ts'
import { RELEASE_NAME, clearIncomingCommand, clearStaleArchivesCommand, clearUnpublishedCommand, deployLogLine, parseReleaseListing, releaseListingCommand, releaseTimestamp, releasesToRemove, rollbackLogLine, readCurrentCommand, parseCurrentRead } from '../lib/deploy/releases.ts'
import { removeReleaseSource } from '../lib/deploy/release-source.ts'
import { checkDeployInputs, checkRollbackInputs, readDeployVia, readKeepReleases, readSwarmEncryption, readLocalUser, readTmpDir } from '../lib/deploy/deploy-inputs.ts'
import { distributeWithMurder } from './murder/deploy-swarm.ts'
import { commandHint } from '../lib/runner/command-hint.ts'
import { currentSession } from '../lib/runner/session.ts'
import { application, releasesPath, currentPath, revisionLog, releaseName, newReleasePath, INCOMING_SUFFIX, incomingPath, targets } from './deploy/layout.ts'
import { thisRun, movingHosts, currentReleaseOf } from './deploy/run-state.ts'
import { checkDirectories, checkLinkedFiles, linkShared } from './deploy/shared.ts'
import { DEPLOY_FLOW, ROLLBACK_FLOW, beginFlow, runFlow, requireStep } from './deploy/flow.ts'
import { takeLock, unlockDeploy } from './deploy/lock.ts'
import { publishInWaves } from './deploy/publish.ts'
import { pickRollbackRelease, archiveRolledBackRelease } from './deploy/rollback.ts'
import { reportCurrent, removeUnpublishedRelease } from './deploy/failure.ts'
import { prepareSource, distributeByCopy } from './deploy/release-delivery.ts'

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

namespace('deploy', () => {
  task('starting', { desc: 'Start a deployment: lock, check, remember the current release' }, async () => {
    await invoke('deploy:lock')
    await invoke('deploy:check')
    await invoke('deploy:set_previous_revision')
  })
  task('started', { desc: 'Hook point: the deploy has started (after deploy:starting)' }, async () => {})
  task('updating', { desc: 'Create the new release and link shared files' }, async () => {
    await invoke('deploy:new_release_path')
    await invoke('deploy:create_release')
    await invoke('deploy:set_current_revision')
    await invoke('deploy:symlink:shared')
  })
  task('updated', { desc: 'Hook point: the new release is in place, not live yet (after deploy:updating)' }, async () => {})
  task('reverting', { desc: 'Revert the server(s) to the previous release' }, async () => {
    await invoke('deploy:revert_release')
  })
  task('reverted', { desc: 'Hook point: the release to go back to is picked (after deploy:reverting)' }, async () => {})
  task('publishing', { desc: 'Publish the release: swap current' }, async () => {
    await invoke('deploy:symlink:release')
  })
  task('published', { desc: 'Hook point: current points at the new release (after deploy:publishing)' }, async () => {})
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
  task('failed', { desc: 'Runs when a deploy fails: removes its unpublished release, unlocks' }, async () => {
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
  task('restart', { desc: "Empty: define it and hook it, after('deploy:publishing', 'deploy:restart')" }, async () => {})
  task('verify', { desc: 'Check a wave of freshly switched hosts (redefine it: e.g. an HTTP health check)' }, async () => {})
  task('switched_back', { desc: 'After a failed wave, on the hosts put back on their previous release (redefine it: e.g. restart them)' }, async () => {})

  task('lock', { desc: 'Take the deploy lock on every target host' }, takeLock)

  task('unlock', { desc: 'Release the deploy lock this run took (alone with unlock=1: clear any)' }, unlockDeploy)

  task('check', { desc: 'Check required files and directories exist' }, async () => {
    await invoke('deploy:check:directories')
    await invoke('deploy:check:linked_dirs')
    await invoke('deploy:check:make_linked_dirs')
    await invoke('deploy:check:linked_files')
  })
  namespace('check', () => {
    task('directories', { desc: 'Make shared/, releases/ and the linked directories; check current is a link' }, checkDirectories)
    // Hook points in Capistrano's order: deploy:check:directories made their directories.
    task('linked_dirs', { desc: 'Hook point: linked directories made (in deploy:check:directories)' }, async () => {})
    task('make_linked_dirs', { desc: "Hook point: linked files' directories made (in deploy:check:directories)" }, async () => {})
    task('linked_files', { desc: 'Check every linked file is in shared/' }, checkLinkedFiles)
  })

  task('new_release_path', async () => {
    requireStep('deploy:new_release_path', thisRun().lockedHosts.size > 0, 'deploy (after deploy:lock)', 'it would clear half-made releases of a deploy that holds the lock')
    // Releases removed → the hosts they went from: one line for hosts that had the same ones.
    const removedFrom = new Map<string, string[]>()
    const order = targets().map((host) => host.name)
    try {
      await on(targets(), async (remote) => {
        // Clears what a deploy killed mid-way left being filled or never published (we hold the lock:
        // nobody else is making one), and old archives failed deploys left in tmp_dir, unless this
        // release exists: one round trip, a second only to say which failed.
        const current = currentReleaseOf(remote.host)
        const unpublished = current === undefined ? ':' : clearUnpublishedCommand(releasesPath(), current, revisionLog())
        const clear = `test ! -e ${quote(newReleasePath())} && ${clearIncomingCommand(releasesPath(), INCOMING_SUFFIX)} && ${clearStaleArchivesCommand(readTmpDir(fetch), application())} && ${unpublished}`
        const cleared = await remote.run(clear, { quiet: true, allowFailure: true })
        const removed = cleared.stdout.split('\n').filter(Boolean).join(', ')
        if (removed !== '') removedFrom.set(removed, [...(removedFrom.get(removed) ?? []), remote.host.name])
        if (cleared.code !== 0) {
          if (await remote.test(['test', '-e', newReleasePath()])) {
            throw new DeployError(`${remote.host.name}: release ${newReleasePath()} already exists; deploy again in a second.`, { exitCode: 1 })
          }
          await remote.run(clearIncomingCommand(releasesPath(), INCOMING_SUFFIX), { quiet: true })
        }
        thisRun().releaseHosts.add(remote.host.name)
      })
    } finally {
      for (const [releases, hosts] of removedFrom) {
        const where = hosts.sort((x, y) => order.indexOf(x) - order.indexOf(y)).join(', ')
        log(`${where}: removed release(s) newer than current that no deploy published (a deploy stopped before its swap left them): ${releases}`, 'warn')
      }
    }
    thisRun().isMakingRelease = true
    set('release_path', newReleasePath())
    log(`release ${newReleasePath()} on ${targets().length} host(s) via ${readDeployVia(fetch)}`)
  })

  task('set_previous_revision', async () => {
    const revisions = new Map<string, string>()
    await on(targets(), async (remote) => {
      const read = await remote.run(readCurrentCommand(currentPath()), { quiet: true, allowFailure: true })
      // From its last lines: a shell rc file's chatter comes before them, and going back would write it into the link.
      const { target, revision } = parseCurrentRead(read.stdout)
      if (read.code !== 0 || target === '') return
      thisRun().previousCurrent.set(remote.host.name, target)
      if (revision !== undefined) revisions.set(remote.host.name, revision)
    })
    // Capistrano's: the REVISION of the release current points at (cap takes whichever host it
    // read last; here the first target that has one).
    const previous = targets().map((host) => revisions.get(host.name)).find((revision) => revision !== undefined)
    if (previous !== undefined) set('previous_revision', previous)
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
    const target = { incoming: incomingPath(), release: newReleasePath() }
    if (via === 'copy') await distributeByCopy(source, hosts, target)
    else await distributeWithMurder(source.tgzPath, hosts, target, `${application()}-${releaseName()}`, readTmpDir(fetch), application(), readSwarmEncryption(fetch))
    // Hosts that failed within max_fail leave the run here; what they got of the release goes.
    const remaining = new Set(targets().map((host) => host.name))
    await removeUnpublishedRelease(hosts.filter((host) => !remaining.has(host.name)))
  })

  task('set_current_revision', async () => {
    requireStep('deploy:set_current_revision', thisRun().isMakingRelease, 'deploy (after deploy:new_release_path)', 'it has no new release to write REVISION into')
    const sha = thisRun().source?.sha ?? 'unknown'
    set('current_revision', sha)
    await on(targets(), async (remote) => {
      // Capistrano writes it `within` the release; a full path spares the directory check's round trip.
      await remote.run(`printf '%s\\n' ${quote(sha)} > ${quote(`${newReleasePath()}/REVISION`)}`)
    })
  })

  namespace('symlink', () => {
    task('shared', { desc: 'Link linked_files and linked_dirs into the release' }, async () => {
      requireStep('deploy:symlink:shared', thisRun().isMakingRelease, 'deploy (after deploy:new_release_path)', 'it would link into a release directory no one made')
      await invoke('deploy:symlink:linked_files')
      await invoke('deploy:symlink:linked_dirs')
    })
    task('linked_files', { desc: 'Link linked_files from shared/ into the release' }, () => linkShared('linked_files'))
    task('linked_dirs', { desc: 'Link linked_dirs from shared/ into the release' }, () => linkShared('linked_dirs'))

    task('release', { desc: 'Swap current to the new release, wave by wave' }, async () => {
      // Alone it would point current at a release no one made, and a failed check would then
      // "restore" a previous link no one read: it is a step of deploy and deploy:rollback only.
      const { rollbackRelease, isMakingRelease, hasReadPrevious } = thisRun()
      if (rollbackRelease === undefined && !isMakingRelease) {
        throw new UsageError('deploy:symlink:release runs only inside deploy (after deploy:create_release); to switch current to a release already on the hosts, run deploy:rollback rollback_release=NAME.')
      }
      requireStep('deploy:symlink:release', hasReadPrevious, 'deploy or deploy:rollback (after deploy:starting)', 'a failed swap could not go back: where current pointed was never read')
      await publishInWaves(rollbackRelease === undefined ? newReleasePath() : `${releasesPath()}/${rollbackRelease}`, movingHosts())
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

  task('revert_release', { desc: 'Pick the release to roll back to (rollback_release=TIMESTAMP, else the previous one)' }, pickRollbackRelease)

  task('cleanup_rollback', { desc: 'Archive and remove the release rolled away from' }, archiveRolledBackRelease)

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
      await remote.run(`printf '%s\\n' ${quote(line)} >> ${quote(revisionLog())}`)
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

namespace('deploy', () => {
  task('rollback', { desc: 'Roll back to the previous release' }, async () => {
    beginFlow('deploy:rollback')
    checkRollbackInputs(fetch)
    targets()
    await runFlow(ROLLBACK_FLOW)
  })
})

