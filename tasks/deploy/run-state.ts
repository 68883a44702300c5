// What this deploy or rollback has learned and done so far, which later steps and the failure path act on.
import type { Host } from '../../lib/index.ts'
import { releaseOf } from '../../lib/deploy/releases.ts'
import type { ReleaseSource } from '../../lib/deploy/release-source.ts'
import { perRun } from '../../lib/runner/per-run.ts'
import { targets } from './layout.ts'

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

export const thisRun = perRun<DeployRun>(() => ({
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

/** The hosts whose `current` this run moves: every target but those already on the rollback_release asked for. */
export function movingHosts(): Host[] {
  const { alreadyRolledBack } = thisRun()
  return targets().filter((host) => !alreadyRolledBack.has(host.name))
}

/** The release `current` pointed at on the host when this run began (deploy:set_previous_revision). */
export function currentReleaseOf(host: Host): string | undefined {
  return releaseOf(thisRun().previousCurrent.get(host.name) ?? '')
}
