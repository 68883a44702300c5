// deploy:rollback's own steps: the release to go back to, and the archive of the one left.
import { DeployError, fetch, isDryRun, log, on, quote, set } from '../../lib/index.ts'
import { DRY_RUN_NEWEST_RELEASE, DRY_RUN_PREVIOUS_RELEASE, releaseOf, rollbackTarget } from '../../lib/deploy/releases.ts'
import { readRollbackRelease } from '../../lib/deploy/deploy-inputs.ts'
import { requireStep } from './flow.ts'
import { deployPath, releasesPath, currentPath, targets } from './layout.ts'
import { thisRun, currentReleaseOf } from './run-state.ts'

/**
 * deploy:revert_release: picks the release to roll back to on every host (rollback_release=NAME,
 * else the one before current), the same on all of them.
 */
export async function pickRollbackRelease(): Promise<void> {
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
  const release = [...byRelease.keys()][0]
  thisRun().rollbackRelease = release
  // Capistrano's, for hooks on the rollback: the release it goes back to.
  if (release !== undefined) {
    set('release_path', `${releasesPath()}/${release}`)
    set('rollback_timestamp', release)
  }
}

/** deploy:cleanup_rollback: archives and removes the release `current` left, as Capistrano does. */
export async function archiveRolledBackRelease(): Promise<void> {
  requireStep('deploy:cleanup_rollback', thisRun().rollbackRelease !== undefined, 'deploy:rollback (after deploy:revert_release)', 'it would archive and remove the newest release, whatever it is')
  await on(targets(), async (remote) => {
    // The release `current` left (cap takes the newest, the same one but after a rollback to an
    // older release, when the newest was live once and `current` left another).
    const left = currentReleaseOf(remote.host) ?? (isDryRun() ? DRY_RUN_NEWEST_RELEASE : undefined)
    const current = releaseOf(await remote.capture(['readlink', currentPath()]))
    if (left === undefined || left === current) return
    // As Capistrano's `tar -czf ARCHIVE RELEASE_PATH`: members named by the path, less its leading `/`.
    await remote.run(['tar', '-czf', `${deployPath()}/rolled-back-release-${left}.tar.gz`, '-C', '/', `${releasesPath()}/${left}`.slice(1)])
    await remote.run(['rm', '-rf', `${releasesPath()}/${left}`], { survivesInterrupt: true })
  })
}
