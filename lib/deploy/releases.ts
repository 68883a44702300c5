// Capistrano's release bookkeeping, pure so the same rules are unit-tested and shared with cap.
import { quote } from '../ssh/quote.ts'

export const RELEASE_NAME = /^\d{14}$/

/** UTC `%Y%m%d%H%M%S`, Capistrano's release name. */
export function releaseTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14)
}

/**
 * Releases `deploy:cleanup` removes: the oldest beyond `keep`, by name, never the one `current`
 * points at; names that are not 14 digits are left alone.
 */
export function releasesToRemove(names: readonly string[], keep: number, currentRelease: string | undefined): string[] {
  const releases = names.filter((name) => RELEASE_NAME.test(name)).sort()
  if (releases.length <= keep) return []
  return releases.slice(0, releases.length - keep).filter((name) => name !== currentRelease)
}

/**
 * The release `deploy:rollback` goes back to, from `ls -xt` order (newest mtime first): the one
 * named by `rollback_release`, else the one before `current` in that order, else (no `current`
 * among them) the second newest, as cap does. Cap takes the second newest even after a rollback
 * to an older release, when that is `current` itself. Undefined when there is none.
 */
export function rollbackTarget(namesNewestFirst: readonly string[], requested: string | undefined, current?: string): string | undefined {
  const releases = namesNewestFirst.filter((name) => RELEASE_NAME.test(name))
  if (requested !== undefined && requested !== '') return releases.includes(requested) ? requested : undefined
  const currentIndex = current === undefined ? -1 : releases.indexOf(current)
  return currentIndex >= 0 ? releases[currentIndex + 1] : releases.length >= 2 ? releases[1] : undefined
}

/**
 * Stand-ins a dry run prints for the releases `deploy:rollback` works on: a dry run reads nothing
 * from the hosts (`ls releases` comes back empty), so it cannot know their names.
 */
export const DRY_RUN_PREVIOUS_RELEASE = '<previous release>'
export const DRY_RUN_NEWEST_RELEASE = '<newest release>'

/** Where a link points, from what `readlink` printed: its last line (a shell rc file's chatter comes first). */
export function linkTargetOf(readlinkOutput: string): string {
  return readlinkOutput.trim().split('\n').at(-1) ?? ''
}

const REVISION_MARKER = 'REVISION='

/**
 * Where `current` points and the REVISION of the release there (Capistrano's previous_revision),
 * in one round trip: fails when `current` is no link; read with `parseCurrentRead`.
 */
export function readCurrentCommand(currentPath: string): string {
  const revision = `"$(cat ${quote(`${currentPath}/REVISION`)} 2>/dev/null)"`
  return `if t=$(readlink ${quote(currentPath)}); then printf '${REVISION_MARKER}%s\\n%s\\n' ${revision} "$t"; else false; fi`
}

/** `readCurrentCommand`'s output: the link's target on the last line (a shell rc file's chatter may come before), its REVISION on the one before. */
export function parseCurrentRead(output: string): { target: string; revision: string | undefined } {
  const lines = output.trim().split('\n')
  const marked = lines.at(-2) ?? ''
  const revision = marked.startsWith(REVISION_MARKER) ? marked.slice(REVISION_MARKER.length).trim() : ''
  return { target: linkTargetOf(output), revision: revision === '' ? undefined : revision }
}

/** The release name at the end of a `readlink current` result, if it is one. */
export function releaseOf(linkTarget: string): string | undefined {
  const name = linkTarget.replace(/\/+$/, '').split('/').at(-1) ?? ''
  return RELEASE_NAME.test(name) ? name : undefined
}

/** What `deploy:cleanup` reads in one command: a `current=LINK` line, and the names in releases/. */
export interface ReleaseListing {
  /** The release `current` points at (undefined: no link, or not a release). */
  current: string | undefined
  names: string[]
}

/** Removes the releases killed deploys left being filled (`.NAME` + suffix); `rm` runs only if there is one. */
export function clearIncomingCommand(releasesPath: string, suffix: string): string {
  return `set -- ${quote(releasesPath)}/.*${quote(suffix)} && { [ ! -e "$1" ] || rm -rf "$@"; }`
}

const STAMP_GLOB = '[0-9]'.repeat(14)

/**
 * Removes the releases newer than the one `current` points at that `revisions.log` never lists as
 * deployed, printing the name of each once it is gone: complete releases a killed deploy never
 * published (a failed one removes its own). Left there, one would count against keep_releases, so
 * that cleanup removed the release before `current`, and be what the next rollback picks. A newer
 * release the log lists was live once (a rollback to an older release keeps it) and stays; without
 * a log nothing is removed. Shell builtins but a `grep` per newer release.
 */
export function clearUnpublishedCommand(releasesPath: string, currentRelease: string, revisionsLog: string): string {
  const name = '"${release##*/}"'
  const neverDeployed = `[ -d "$release" ] && [ ${name} -gt ${quote(currentRelease)} ] && ! grep -qF "deployed as release \${release##*/} by" ${quote(revisionsLog)}`
  const loop = `for release in ${quote(releasesPath)}/${STAMP_GLOB}; do if ${neverDeployed}; then rm -rf "$release" && printf '%s\\n' ${name}; fi; done`
  return `if [ -f ${quote(revisionsLog)} ]; then ${loop}; fi`
}

/** Where a deploy's release archive waits on a host (copy) or is seeded from (murder); its torrent adds `.torrent`. */
export function releaseArchivePath(tmpDir: string, application: string, release: string): string {
  return `${tmpDir}/${application}-${release}.tgz`
}

/** An archive younger than this may be another deploy's in flight (another stage of the application, on this host, with its own lock). */
export const STALE_ARCHIVE_MINUTES = 60

/**
 * Removes the archives and torrents of this application's releases that failed or killed deploys
 * left in tmp_dir, once unchanged for STALE_ARCHIVE_MINUTES. Exactly 14 digits, so `shop` never
 * takes `shop-2`'s. `find` runs only if there is such a file. Always succeeds: leftovers are
 * tidied, not a reason to stop.
 */
export function clearStaleArchivesCommand(tmpDir: string, application: string): string {
  const name = `${application}-${STAMP_GLOB}.tgz`
  const find = `find ${quote(tmpDir)} -maxdepth 1 -type f \\( -name ${quote(name)} -o -name ${quote(`${name}.torrent`)} \\) -mmin +${STALE_ARCHIVE_MINUTES} -exec rm -f '{}' +`
  return `for stale in ${quote(`${tmpDir}/${application}-`)}${STAMP_GLOB}.tgz*; do if [ -e "$stale" ]; then ${find} 2>/dev/null || :; break; fi; done`
}

/**
 * The command whose output parseReleaseListing reads. The names come from a glob rather than
 * `ls -x` (the same names: no dot files, dangling links too), and `readlink` prints straight after
 * `current=` rather than through `$(…)`: a host runs one process (`readlink`) instead of three.
 */
export function releaseListingCommand(currentPath: string, releasesPath: string): string {
  const names = `for release in ${quote(releasesPath)}/*; do if [ -e "$release" ] || [ -L "$release" ]; then printf '%s\\n' "\${release##*/}"; fi; done`
  return `printf 'current=' && { readlink ${quote(currentPath)} || echo; } && ${names}`
}

/**
 * Parses that output; undefined without the `current=` line (something else printed, say a shell
 * rc file), since removing releases without knowing the live one could remove it.
 */
export function parseReleaseListing(output: string): ReleaseListing | undefined {
  const lines = output.split('\n')
  const link = lines.find((line) => line.startsWith('current='))
  if (link === undefined) return undefined
  const names = lines.filter((line) => line !== link).join(' ').split(/\s+/).filter(Boolean)
  return { current: releaseOf(link.slice('current='.length)), names }
}

export interface RevisionLogFields {
  branch: string
  sha: string
  release: string
  user: string
}

/** Capistrano's default `revision_log_message` lines. */
export function deployLogLine(fields: RevisionLogFields): string {
  return `Branch ${fields.branch} (at ${fields.sha}) deployed as release ${fields.release} by ${fields.user}`
}

export function rollbackLogLine(user: string, release: string): string {
  return `${user} rolled back to release ${release}`
}
