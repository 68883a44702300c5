// What deploy does with shared/: deploy:check's directories and linked files before a release is
// made, deploy:symlink:linked_files and :linked_dirs once it is (Capistrano's sub-tasks, hookable).
import { posix } from 'node:path'
import { DeployError, fetch, on, quote } from '../../lib/index.ts'
import { sharedLinksCommand } from '../../lib/deploy/shared-links.ts'
import { ensureDirectoriesCommand } from '../../lib/deploy/ensure-directories.ts'
import { readLinkedPaths } from '../../lib/deploy/deploy-inputs.ts'
import { requireStep } from './flow.ts'
import { currentPath, newReleasePath, releasesPath, sharedPath, targets } from './layout.ts'
import { thisRun } from './run-state.ts'

/**
 * deploy:check:directories: shared/, releases/, every linked directory and every linked file's
 * directory (Capistrano's linked_dirs and make_linked_dirs, in the same command), and `current` a
 * link or absent: the swap renames over it, and found out then, the release would already be on
 * every host.
 */
export async function checkDirectories(): Promise<void> {
  const shared = sharedPath()
  const linkedDirs = readLinkedPaths(fetch, 'linked_dirs').map((dir) => `${shared}/${dir}`)
  // A top-level linked file's directory is shared itself, once: not `mkdir -p shared/.`.
  const fileDirs = readLinkedPaths(fetch, 'linked_files').map((file) => posix.dirname(file)).filter((dir) => dir !== '.').map((dir) => `${shared}/${dir}`)
  const directories = ensureDirectoriesCommand([...new Set([shared, releasesPath(), ...linkedDirs, ...fileDirs])])
  const currentIsLink = `{ [ -L ${quote(currentPath())} ] || [ ! -e ${quote(currentPath())} ]; }`
  await on(targets(), async (remote) => {
    // One round trip; a second only to say what failed.
    if ((await remote.run(`${directories} && ${currentIsLink}`, { allowFailure: true })).code === 0) return
    await remote.run(directories)
    if (!(await remote.test(currentIsLink))) {
      throw new DeployError(`${remote.host.name}: ${currentPath()} is not a symlink; move it out of the way (a release's files belong in ${releasesPath()}).`, { exitCode: 1 })
    }
  })
}

/** deploy:check:linked_files: every linked file is in shared/ (a `before` hook may put it there). */
export async function checkLinkedFiles(): Promise<void> {
  const files = readLinkedPaths(fetch, 'linked_files').map((file) => `${sharedPath()}/${file}`)
  if (files.length === 0) return
  await on(targets(), async (remote) => {
    if ((await remote.run(files.map((file) => `[ -f ${quote(file)} ]`).join(' && '), { allowFailure: true })).code === 0) return
    for (const file of files) {
      if (!(await remote.test(['test', '-f', file]))) throw new DeployError(`${remote.host.name}: linked file ${file} does not exist; create it there first.`, { exitCode: 1 })
    }
  })
}

/**
 * deploy:symlink:linked_files or :linked_dirs: links them into the new release by Capistrano's
 * rules, every link of the kind in one command per host (three round trips per path add up over a fleet).
 */
export async function linkShared(kind: 'linked_files' | 'linked_dirs'): Promise<void> {
  requireStep(`deploy:symlink:${kind}`, thisRun().isMakingRelease, 'deploy (after deploy:new_release_path)', 'it would link into a release directory no one made')
  const entries = readLinkedPaths(fetch, kind).map((path) => ({ path, isDir: kind === 'linked_dirs' }))
  const command = sharedLinksCommand(entries, newReleasePath(), sharedPath())
  if (command === undefined) return
  await on(targets(), async (remote) => remote.run(command))
}
