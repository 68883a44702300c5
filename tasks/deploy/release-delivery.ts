// The release a deploy ships: packed from the project (or release_source), and, with
// deploy_via copy, uploaded to every host over SFTP and extracted there.
import { fetch, on } from '../../lib/index.ts'
import type { Host } from '../../lib/index.ts'
import { prepareReleaseSource, type ReleaseSource } from '../../lib/deploy/release-source.ts'
import { projectRoot } from '../../lib/config/project-root.ts'
import { chain, privateFileCommand } from '../../lib/ssh/command.ts'
import { isFlagSet } from '../../lib/torrent/murder-options.ts'
import { readTmpDir } from '../../lib/deploy/deploy-inputs.ts'
import type { ReleaseTarget } from '../murder/deploy-swarm.ts'
import { archivePath } from './layout.ts'

/** The release comes from the deployfile's directory, not wherever the user stands. */
export function prepareSource(): Promise<ReleaseSource> {
  const branch = fetch<unknown>('branch', undefined)
  return prepareReleaseSource(projectRoot(), String(fetch('release_source', '')), isFlagSet(fetch, 'allow_dirty'), branch === undefined ? undefined : String(branch))
}

/** deploy_via copy: the release from this machine to every host, as Capistrano's copy strategies did. */
export async function distributeByCopy(release: ReleaseSource, hosts: readonly Host[], target: ReleaseTarget): Promise<void> {
  const remoteTgz = archivePath()
  await on(hosts, async (remote) => {
    await remote.run(`${chain([['mkdir', '-p', readTmpDir(fetch), target.incoming]])} && ${privateFileCommand(remoteTgz)}`)
    await remote.upload(release.tgzPath, remoteTgz, { mode: 0o600 })
    await remote.run(chain([['tar', '-xzf', remoteTgz, '-C', target.incoming], ['mv', target.incoming, target.release], ['rm', '-f', remoteTgz]]))
  })
}
