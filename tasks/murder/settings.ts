// What every murder task reads: Murder's arguments, the swarm's settings and where the agent lives.
import { fetch, UsageError } from '../../lib/index.ts'
import type { AgentLocation } from '../../lib/torrent/agent-client.ts'
import { checkPath, type DeployLayout, readSwarmSettings, withEnvironmentArguments, type Fetch, type SwarmSettings } from '../../lib/torrent/murder-options.ts'

/** tracker_port, peer_seed_seconds, peer_timeout and swarm_stall_timeout, checked. */
export function swarmSettings(): SwarmSettings {
  return readSwarmSettings(fetch)
}

/** What every murder task reads, checked before its first host: a bad value must touch none. */
export function checkSwarmInputs(): void {
  swarmSettings()
  location()
}

/**
 * `deploy_to` and the names of its parts when this run has one: its default needs `application`,
 * which murder alone never sets.
 */
export function deployLayoutIfSet(): DeployLayout | undefined {
  let deployTo: string | undefined
  try {
    deployTo = fetch<string | undefined>('deploy_to', undefined)
  } catch (error) {
    if (error instanceof UsageError) return undefined
    throw error
  }
  if (deployTo === undefined) return undefined
  const part = (name: string, fallback: string) => String(fetch<unknown>(name, fallback))
  return { deployTo, releases: part('releases_directory', 'releases'), shared: part('shared_directory', 'shared'), current: part('current_directory', 'current') }
}

/** Murder's arguments: variables (`tag=D1` on the command line, `set`), else the environment, as Murder read them. */
export const argument: Fetch = withEnvironmentArguments(fetch, process.env)

export function location(): AgentLocation {
  return { node: String(fetch('murder_node')), murderPath: checkPath('remote_murder_path', String(murderPathSetting())) }
}

/** remote_murder_path's default comes from deploy_to's, which needs application: a project using only murder:* is told why. */
function murderPathSetting(): unknown {
  try {
    return fetch('remote_murder_path')
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    throw new UsageError(`${error.message.replace(/\.$/, '')}; remote_murder_path defaults to DEPLOY_TO/shared/murder, and deploy_to to /var/www/APPLICATION (or set remote_murder_path).`)
  }
}
