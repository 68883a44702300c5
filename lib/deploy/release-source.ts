import { existsSync, statSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { $ } from 'zx/core'
import { ConfigError, DeployError } from '../errors.ts'

export interface ReleaseSource {
  /** A local .tgz holding the release's files at its root. */
  tgzPath: string
  sha: string
  branch: string
}

/**
 * The release as a local tgz: `git archive` of the committed HEAD of the project at `root` (the
 * deployfile's directory; refusing a dirty tree unless `allowDirty`, which then archives the working
 * tree's tracked files), or a local directory or tarball given as `source`, relative to `root`.
 */
export async function prepareReleaseSource(root: string, source: string | undefined, allowDirty: boolean): Promise<ReleaseSource> {
  const workDir = await mkdtemp(join(tmpdir(), 'murder-release-'))
  const tgzPath = join(workDir, 'release.tgz')
  const quiet = $({ cwd: root, quiet: true, verbose: false })
  if (source !== undefined && source !== '') {
    const path = resolve(root, source)
    const where = path === source ? '' : ` (${path})`
    if (!existsSync(path)) throw new ConfigError(`release_source ${source}${where} does not exist; point it at a directory or a .tgz`)
    if (statSync(path).isDirectory()) {
      await quiet`tar -czf ${tgzPath} --exclude=.git -C ${path} .`
      return { tgzPath, sha: 'unknown', branch: 'unknown' }
    }
    if (!/\.(tgz|tar\.gz)$/.test(path)) throw new ConfigError(`release_source ${source} must be a directory, .tgz or .tar.gz`)
    return { tgzPath: path, sha: 'unknown', branch: 'unknown' }
  }
  const inside = await quiet`git rev-parse --is-inside-work-tree`.nothrow()
  if (inside.exitCode !== 0) {
    throw new ConfigError(`${root} is not a git repository; commit your app to git, or set release_source to a directory or .tgz`)
  }
  // Only the project's own files: `git archive` run from a subdirectory of a repository packs that subdirectory.
  const dirty = (await quiet`git status --porcelain --untracked-files=no -- .`).stdout.trim()
  let treeish = 'HEAD'
  if (dirty !== '') {
    if (!allowDirty) {
      const count = dirty.split('\n').length
      throw new DeployError(
        `Refusing to deploy: the working tree has ${count} uncommitted change(s); commit them, or pass allow_dirty=1 to deploy them anyway.`,
        { exitCode: 2 }
      )
    }
    treeish = (await quiet`git stash create`).stdout.trim() || 'HEAD'
  }
  await quiet`git archive --format=tar.gz -o ${tgzPath} ${treeish}`
  const sha = (await quiet`git rev-parse ${treeish}`).stdout.trim()
  const branch = (await quiet`git rev-parse --abbrev-ref HEAD`).stdout.trim()
  return { tgzPath, sha, branch }
}
