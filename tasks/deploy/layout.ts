// The on-server layout this run deploys into (deploy_to, releases/, shared/, current) and its target hosts.
import { DeployError, UsageError, allServers, failedHosts, fetch, releaseRoles } from '../../lib/index.ts'
import type { Host } from '../../lib/index.ts'
import { releaseArchivePath } from '../../lib/deploy/releases.ts'
import { projectRoot } from '../../lib/config/project-root.ts'
import { listStages } from '../../lib/inventory/stage-file.ts'
import { readApplication, readReleaseName, readTmpDir } from '../../lib/deploy/deploy-inputs.ts'
import { releasesPath } from '../../lib/deploy/deploy-paths.ts'

export { deployPath, currentPath, releasesPath, sharedPath, revisionLog } from '../../lib/deploy/deploy-paths.ts'
export const application = (): string => readApplication(fetch)
export const releaseName = (): string => readReleaseName(fetch)
/** The release this deploy makes (whatever `release_path` a deployfile sets). */
export const newReleasePath = (): string => `${releasesPath()}/${releaseName()}`
export const INCOMING_SUFFIX = '.incoming'
export const incomingPath = (): string => `${releasesPath()}/.${releaseName()}${INCOMING_SUFFIX}`
export const archivePath = (): string => releaseArchivePath(readTmpDir(fetch), application(), releaseName())

/** The hosts this deploy changes: release roles after ROLES=/HOSTS= filters, less those that failed. */
export function targets(): Host[] {
  const hosts = releaseRoles()
  if (hosts.length > 0) return hosts
  // max_fail let every host fail: a failed run, not a deployfile without servers.
  if (failedHosts().length > 0) throw new DeployError('every target host has failed (within max_fail); nothing is left to deploy to.', { exitCode: 1 })
  if (allServers().length > 0) throw new UsageError('No hosts to deploy to: every server is no_release or left out by ROLES=/HOSTS=; loosen them.')
  const stage = fetch<string | undefined>('stage', undefined)
  if (stage !== undefined) throw new UsageError(`No hosts to deploy to: roles/${stage}.yaml and the deployfile declare no servers.`)
  const stages = listStages(projectRoot())
  const known = stages === undefined || stages.length === 0 ? 'roles/STAGE.yaml' : `stages: ${stages.join(', ')}`
  throw new UsageError(`No hosts to deploy to: name a stage before the task (\`deploy STAGE deploy\`; ${known}), or declare servers in the deployfile.`)
}
