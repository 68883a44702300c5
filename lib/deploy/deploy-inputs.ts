// deploy's variables, read and checked in one place: `deploy` and `deploy:rollback` check them all
// before the first host is touched, and their steps read them through the same functions.
import { UsageError } from '../errors.ts'
import { readInteger } from '../config/read-integer.ts'
import { readSwitch } from '../config/read-switch.ts'
import { checkPath, isFlagSet, readSwarmSettings, SAFE_NAME, type Fetch } from '../torrent/murder-options.ts'
import { RELEASE_NAME } from './releases.ts'
import { parseWaves } from './waves.ts'
import { readDefaultEnv } from '../ssh/default-env.ts'

export type DeployVia = 'murder' | 'copy'
export type DirectoryVariable = 'current_directory' | 'releases_directory' | 'shared_directory'

const DIRECTORY_VARIABLES: readonly DirectoryVariable[] = ['current_directory', 'releases_directory', 'shared_directory']

export function readApplication(fetch: Fetch): string {
  const name = String(fetch<unknown>('application', '') ?? '')
  if (!SAFE_NAME.test(name)) {
    throw new UsageError(`application must be set to a simple name (letters, digits, ".", "_", "-"), got ${shown(name)}: set('application', 'shop').`)
  }
  return name
}

export function readDeployTo(fetch: Fetch): string {
  return checkPath('deploy_to', String(fetch<unknown>('deploy_to')))
}

/** `current`, `releases`, `shared`: one directory under deploy_to (the swap renames releases/CURRENT onto it). */
export function readDirectoryName(fetch: Fetch, name: DirectoryVariable): string {
  const value = String(fetch<unknown>(name, '') ?? '')
  if (!SAFE_NAME.test(value)) throw new UsageError(`${name} must be one directory name (letters, digits, ".", "_", "-"), got ${shown(value)}.`)
  return value
}

/**
 * The release's directory name. Only Capistrano's UTC %Y%m%d%H%M%S (14 digits) is accepted: it is
 * joined into `mv` and `rm -rf` paths on every host, and cleanup and rollback only recognise such
 * names, so any other name would be a release they can never remove or go back to.
 */
export function readReleaseName(fetch: Fetch): string {
  const name = String(fetch<unknown>('release_timestamp', '') ?? '')
  if (!RELEASE_NAME.test(name)) {
    throw new UsageError(`release_timestamp must be 14 digits, UTC %Y%m%d%H%M%S like 20240102030405, got ${shown(name)}; leave it unset to use the current time.`)
  }
  return name
}

export function readDeployVia(fetch: Fetch): DeployVia {
  const via = String(fetch<unknown>('deploy_via', 'murder') ?? '')
  if (via !== 'murder' && via !== 'copy') throw new UsageError(`deploy_via must be "murder" or "copy", got ${shown(via)}; pass deploy_via=copy, or leave it unset for murder.`)
  return via
}

/** Whether deploy_via murder carries the release encrypted (on unless turned off). */
export function readSwarmEncryption(fetch: Fetch): boolean {
  return readSwitch(fetch, 'swarm_encryption', true)
}

/** At least 1: 0 would remove every release but the new one, leaving nothing to roll back to. */
export function readKeepReleases(fetch: Fetch): number {
  return readInteger(fetch, 'keep_releases', 5, { min: 1, unit: 'releases kept on each host' })
}

export function readTmpDir(fetch: Fetch): string {
  return checkPath('tmp_dir', String(fetch<unknown>('tmp_dir', '/tmp')))
}

/** `linked_files`, `linked_dirs`: a list (or a space- or comma-separated string) of relative paths. */
export function readLinkedPaths(fetch: Fetch, name: 'linked_files' | 'linked_dirs'): string[] {
  const value = fetch<unknown>(name, [])
  const list = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw new UsageError(`${name} must be a list of paths, got ${shown(value)}: set('${name}', ['log']).`)
  }
  return list.map((item) => {
    // `log/` is `log`: with the slash, `[ -L ]` on the host would follow a link the release ships.
    const path = item.replace(/\/+$/, '')
    if (item.startsWith('/') || path.split('/').some((part) => ['', '.', '..'].includes(part)) || /[\n\r\0]/.test(item)) {
      throw new UsageError(`${name} entry ${shown(item)} must be a relative path inside the release, without "..", "." or empty parts.`)
    }
    return path
  })
}

/** The `--waves` spec, one wave (`100%`) when unset. */
export function readWaveSpec(fetch: Fetch): string {
  const spec = String(fetch<unknown>('waves', '') ?? '') || '100%'
  try {
    parseWaves(spec)
  } catch (error) {
    throw new UsageError(`${(error as Error).message}.`)
  }
  return spec
}

/** `rollback_release=TIMESTAMP`, or undefined for the previous release. */
export function readRollbackRelease(fetch: Fetch): string | undefined {
  const name = String(fetch<unknown>('rollback_release', '') ?? '')
  if (name === '') return undefined
  if (!RELEASE_NAME.test(name)) {
    throw new UsageError(`rollback_release must be a release name, 14 digits like 20240102030405, got ${shown(name)}; see \`ls releases\` on a host.`)
  }
  return name
}

/** Everything `deploy` reads, checked before its first step; throws the first problem as a UsageError. */
export function checkDeployInputs(fetch: Fetch): void {
  checkCommonInputs(fetch)
  readReleaseName(fetch)
  if (readDeployVia(fetch) === 'murder') {
    readSwarmSettings(fetch)
    readSwarmEncryption(fetch)
    checkPath('remote_murder_path', String(fetch<unknown>('remote_murder_path', '')))
  }
  readKeepReleases(fetch)
  readTmpDir(fetch)
  readLinkedPaths(fetch, 'linked_files')
  readLinkedPaths(fetch, 'linked_dirs')
}

/** Everything `deploy:rollback` reads, checked before its first step. */
export function checkRollbackInputs(fetch: Fetch): void {
  checkCommonInputs(fetch)
  readRollbackRelease(fetch)
  // deploy:check, run by rollback's starting too, makes the linked paths' directories.
  readLinkedPaths(fetch, 'linked_files')
  readLinkedPaths(fetch, 'linked_dirs')
}

function checkCommonInputs(fetch: Fetch): void {
  readApplication(fetch)
  readDeployTo(fetch)
  checkDirectoryNames(fetch)
  readLocalUser(fetch)
  readWaveSpec(fetch)
  readDefaultEnv(fetch<unknown>('default_env', undefined))
  // Read at the lock, after the first steps: a bad value is said before them.
  isFlagSet(fetch, 'unlock')
}

/** Each of current, releases and shared its own directory: `current_directory=releases` would swap a link over the releases. */
function checkDirectoryNames(fetch: Fetch): void {
  const seen = new Map<string, DirectoryVariable>()
  for (const name of DIRECTORY_VARIABLES) {
    const value = readDirectoryName(fetch, name)
    const other = seen.get(value)
    if (other !== undefined) throw new UsageError(`${other} and ${name} are both ${shown(value)}; each must name a directory of its own under deploy_to.`)
    seen.set(value, name)
  }
}

/**
 * The name written into the lock and revisions.log: one printable line, or a newline could forge
 * a `deployed as release` line that clearing unpublished releases trusts.
 */
export function readLocalUser(fetch: Fetch): string {
  const user = String(fetch<unknown>('local_user', '') ?? '')
  if (user === '' || /[\x00-\x1f\x7f]/.test(user)) {
    throw new UsageError(`local_user must be a name on one line without control characters, got ${shown(user)}; pass local_user=NAME.`)
  }
  return user
}

function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value)
}
