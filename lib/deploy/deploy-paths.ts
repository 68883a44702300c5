// Capistrano's path helpers (deploy_path, current_path, releases_path, shared_path, release_path,
// revision_log): for deployfiles (`remote.within(releasePath(), …)` in a deploy:updated hook), and
// the deploy tasks read the layout through them too.
import { currentSession } from '../runner/session.ts'
import type { Fetch } from '../torrent/murder-options.ts'
import { readDeployTo, readDirectoryName } from './deploy-inputs.ts'

/** The run's variables, read without fetch()'s warning for an unset name: the deploy tasks set these. */
const read: Fetch = (name, fallback) => currentSession().variables.fetch(name, fallback)

/** `deploy_to`, checked (Capistrano's `deploy_path`). */
export function deployPath(): string {
  return readDeployTo(read)
}

/** `DEPLOY_TO/current`: the link to the live release. */
export function currentPath(): string {
  return `${deployPath()}/${readDirectoryName(read, 'current_directory')}`
}

/** `DEPLOY_TO/releases`. */
export function releasesPath(): string {
  return `${deployPath()}/${readDirectoryName(read, 'releases_directory')}`
}

/** `DEPLOY_TO/shared`: where `linked_files` and `linked_dirs` live. */
export function sharedPath(): string {
  return `${deployPath()}/${readDirectoryName(read, 'shared_directory')}`
}

/** `DEPLOY_TO/revisions.log`. */
export function revisionLog(): string {
  return `${deployPath()}/revisions.log`
}

/**
 * Capistrano's `release_path`: the release this deploy makes, from `deploy:new_release_path` on; in
 * `deploy:rollback`, the release it goes back to, from `deploy:revert_release` on; before either
 * (or in any other task), `current_path`. The `release_path` variable holds it, as in Capistrano.
 */
export function releasePath(): string {
  const path = read<unknown>('release_path', undefined)
  return typeof path === 'string' && path !== '' ? path : currentPath()
}
