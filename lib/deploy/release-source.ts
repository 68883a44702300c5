import { closeSync, createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { $, ProcessOutput } from 'zx/core'
import { spawn } from 'node:child_process'
import { pipeline } from 'node:stream/promises'
import { ConfigError, DeployError, UsageError } from '../errors.ts'
import { createHash } from 'node:crypto'
import { newCipherKey, payloadCipher, type PayloadKey } from '../torrent/agent/payload-cipher.ts'

export interface ReleaseSource {
  /** A local .tgz holding the release's files at its root. */
  tgzPath: string
  sha: string
  branch: string
  /** The temporary directory made for `tgzPath`, if one was (a given .tgz is used where it lies). */
  workDir: string | undefined
}

/**
 * The release as a local tgz: `git archive` of the committed HEAD of the repository holding `root`
 * (the deployfile's directory), all of it (refusing a dirty tree unless `allowDirty`, which then
 * archives the working tree's tracked files), or of `branch` (Capistrano's variable: a branch, tag
 * or commit of that repository), or a local directory or tarball given as `source`, relative to `root`.
 * The temporary directory goes with `removeReleaseSource`, or when the process exits.
 */
export async function prepareReleaseSource(root: string, source: string | undefined, allowDirty: boolean, branch?: string): Promise<ReleaseSource> {
  const path = source === undefined || source === '' ? undefined : resolve(root, source)
  if (branch !== undefined) checkBranch(branch, path !== undefined)
  if (path !== undefined) {
    const where = path === source ? '' : ` (${path})`
    if (!existsSync(path)) throw new ConfigError(`release_source ${source}${where} does not exist; point it at a directory or a .tgz`)
    if (!statSync(path).isDirectory()) {
      if (!/\.(tgz|tar\.gz)$/.test(path)) throw new ConfigError(`release_source ${source} must be a directory, .tgz or .tar.gz`)
      // Caught here, not by tar on every host once the swarm has carried it.
      if (!isGzip(path)) throw new ConfigError(`release_source ${source} is not gzip-compressed (its first bytes are not 1f 8b); make it with \`tar -czf\`, or point release_source at the directory`)
      return { tgzPath: path, sha: 'unknown', branch: 'unknown', workDir: undefined }
    }
  }
  const workDir = makeWorkDir()
  const tgzPath = join(workDir, 'release.tgz')
  // Made first with its mode, which tar and git archive keep: uploaded, a new file takes the local
  // file's mode, and the release (its config, its secrets) must not be readable by a host's other users.
  writeFileSync(tgzPath, '', { mode: 0o600 })
  try {
    if (path === undefined) return { tgzPath, workDir, ...(await archiveGitTree(root, tgzPath, allowDirty, branch)) }
    await quietIn(process.cwd())`tar -czf ${tgzPath} --exclude=.git -C ${path} .`
    return { tgzPath, sha: 'unknown', branch: 'unknown', workDir }
  } catch (error) {
    removeWorkDir(workDir)
    throw packingError(path === undefined ? `the git repository of ${root}` : `release_source ${source}`, error)
  }
}

/** Removes what `prepareReleaseSource` made (never a .tgz the user gave); safe to call twice. */
export function removeReleaseSource(release: ReleaseSource): void {
  if (release.workDir !== undefined) removeWorkDir(release.workDir)
}

export interface EncryptedRelease {
  path: string
  key: PayloadKey
  remove: () => void
}

/** The release encrypted with a new key (swarm_encryption) into a temporary file of its own, 0600; the key carries the archive's SHA-256. */
export async function encryptRelease(tgzPath: string): Promise<EncryptedRelease> {
  const workDir = makeWorkDir()
  const path = join(workDir, 'release.tgz.enc')
  const key = newCipherKey()
  const hash = createHash('sha256')
  try {
    const hashed = async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk)
        yield chunk
      }
    }
    await pipeline(createReadStream(tgzPath), hashed, payloadCipher(key), createWriteStream(path, { flags: 'wx', mode: 0o600 }))
  } catch (error) {
    removeWorkDir(workDir)
    throw new UsageError(`cannot encrypt the release in ${workDir}: ${(error as Error).message}; set TMPDIR to a directory with room for it, or swarm_encryption=false`)
  }
  return { path, key: { ...key, plainSha256: hash.digest('hex') }, remove: () => removeWorkDir(workDir) }
}

// A second Ctrl-C ends the process with process.exit, past every `finally`: the 'exit' hook still runs.
const exitCleanups = new Map<string, () => void>()

function makeWorkDir(): string {
  let workDir: string
  try {
    workDir = mkdtempSync(join(tmpdir(), 'murder-release-'))
  } catch (error) {
    throw new UsageError(`cannot pack the release in ${tmpdir()}: ${(error as Error).message}; set TMPDIR to a writable directory`)
  }
  const remove = () => removeWorkDir(workDir)
  exitCleanups.set(workDir, remove)
  process.once('exit', remove)
  return workDir
}

function removeWorkDir(workDir: string): void {
  const remove = exitCleanups.get(workDir)
  if (remove === undefined) return
  exitCleanups.delete(workDir)
  process.removeListener('exit', remove)
  rmSync(workDir, { recursive: true, force: true })
}

function checkBranch(branch: string, hasSource: boolean): void {
  if (hasSource) throw new ConfigError(`branch ${branch} names a commit of the git repository, and release_source replaces the repository; give one of them`)
  if (branch === '' || branch.startsWith('-') || /[\s\0]/.test(branch)) {
    throw new ConfigError(`branch ${JSON.stringify(branch)} is no name git takes; give a branch, tag or commit, or leave branch unset to deploy HEAD`)
  }
}

async function archiveGitTree(root: string, tgzPath: string, allowDirty: boolean, branch: string | undefined): Promise<Pick<ReleaseSource, 'sha' | 'branch'>> {
  const top = await quietIn(root)`git rev-parse --show-toplevel`.nothrow()
  if (top.exitCode !== 0) {
    throw new ConfigError(`${root} is not a git repository; commit your app to git, or set release_source to a directory or .tgz`)
  }
  // The whole repository, as Capistrano's git:create_release packs it, even when the deployfile
  // sits in a subdirectory: `git archive` run there would pack only that subdirectory.
  const quiet = quietIn(top.stdout.trim())
  if (branch !== undefined) {
    // What is committed there; the working tree, dirty or not, plays no part.
    const commit = await quiet`git rev-parse --verify --quiet ${`${branch}^{commit}`}`.nothrow()
    if (commit.exitCode !== 0) {
      throw new ConfigError(`branch ${branch} is no branch, tag or commit of the git repository at ${top.stdout.trim()}; see \`git branch -a\`, or leave branch unset to deploy HEAD`)
    }
    const sha = commit.stdout.trim()
    await quiet`git archive --format=tar.gz -o ${tgzPath} ${sha}`
    return { sha, branch }
  }
  const dirty = (await quiet`git status --porcelain --untracked-files=no`).stdout.trim()
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
  return { sha, branch: (await quiet`git rev-parse --abbrev-ref HEAD`).stdout.trim() }
}

/**
 * `$` in `cwd`, for the deploy's own commands: node's own `spawn`, so that a --dry-run still packs
 * the release, and a log of its own, so that no run lists them among a task's (local-commands.ts).
 */
function quietIn(cwd: string) {
  return $({ cwd, quiet: true, verbose: false, spawn, log: () => {} })
}

/** A failed `tar` or `git` as one line: what was being packed and the tool's first line of complaint. */
function packingError(what: string, error: unknown): unknown {
  if (!(error instanceof ProcessOutput)) return error
  const reason = error.stderr.trim().split('\n')[0] || `exit ${error.exitCode}`
  return new ConfigError(`cannot pack ${what}: ${reason}`)
}

/** Whether the file starts with gzip's magic bytes. */
function isGzip(path: string): boolean {
  const head = Buffer.alloc(2)
  const file = openSync(path, 'r')
  try {
    return readSync(file, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b
  } finally {
    closeSync(file)
  }
}
