// What every murder task reads: Murder's variables and their defaults, its arguments, the swarm's
// settings and where the agent lives.
import { fetch, set, UsageError } from '../../lib/index.ts'
import type { AgentLocation } from '../../lib/torrent/agent-client.ts'
import { checkPath, type DeployLayout, readSwarmSettings, withEnvironmentArguments, type Fetch, type SwarmSettings } from '../../lib/torrent/murder-options.ts'

// Murder's variables and their defaults: set here, where every murder step (and deploy_via murder) reads them.
set('default_tag', '')
set('default_seeder_files_path', '')
set('default_destination_path', '')
set('default_temp_path', '/tmp')
set('remote_murder_path', () => `${String(fetch('deploy_to'))}/shared/murder`)
set('tracker_port', 8998)
set('murder_node', 'node')
set('peer_seed_seconds', 30)
set('peer_timeout', 0)
set('swarm_stall_timeout', 60)

/** tracker_port, peer_seed_seconds, peer_timeout and swarm_stall_timeout, checked. */
export function swarmSettings(): SwarmSettings {
  return readSwarmSettings(fetch)
}

/** What every murder task reads, checked before its first host: a bad value must touch none. */
export function checkSwarmInputs(): void {
  swarmSettings()
  agentLocation()
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
export const murderArgument: Fetch = withEnvironmentArguments(fetch, process.env)

export function agentLocation(): AgentLocation {
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
