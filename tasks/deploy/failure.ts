// What a failed run leaves: its unpublished release removed, and where `current` points said.
import { log, on } from '../../lib/index.ts'
import type { Host } from '../../lib/index.ts'
import { describeCurrentLinks } from '../../lib/deploy/current-report.ts'
import { linkTargetOf } from '../../lib/deploy/releases.ts'
import { currentPath, newReleasePath, incomingPath, archivePath } from './layout.ts'
import { thisRun } from './run-state.ts'

/** Says where `current` points on each host, grouped by release: the state a failed run leaves. */
export async function reportCurrent(hosts: readonly Host[]): Promise<void> {
  const run = thisRun()
  const targets = new Map<string, string | null>()
  await on(hosts, { onError: 'continue' }, async (remote) => {
    const link = await remote.run(['readlink', currentPath()], { quiet: true, allowFailure: true })
    targets.set(remote.host.name, link.code === 0 ? linkTargetOf(link.stdout) : null)
  })
  const links = hosts.map((host) => ({ host: host.name, target: targets.get(host.name), before: run.previousCurrent.get(host.name) }))
  for (const line of describeCurrentLinks(links, run.isMakingRelease ? newReleasePath() : undefined)) log(line, 'warn')
}

/**
 * Removes this run's release directory wherever `current` does not point at it, and its archive
 * and torrent in tmp_dir (best effort: a host may be gone; the next deploy clears those then).
 */
export async function removeUnpublishedRelease(hosts: readonly Host[]): Promise<void> {
  if (hosts.length === 0) return
  const release = newReleasePath()
  const leftovers = [incomingPath(), archivePath(), `${archivePath()}.torrent`]
  await on(hosts, { onError: 'continue' }, async (remote) => {
    await remote.run(['sh', '-c', 'current=$1 release=$2; shift 2; rm -rf "$@"; test "$(readlink "$current")" = "$release" || rm -rf "$release"', 'sh', currentPath(), release, ...leftovers], { quiet: true })
  })
}
