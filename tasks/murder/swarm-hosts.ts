// Which hosts play tracker, seeder and peers, the addresses they reach each other on, and how
// `on()` treats them (the filters never leave out the tracker and seeder; their failure fails the run).
import { allServers, failedHosts, isDryRun, on, roles, UsageError, DeployError } from '../../lib/index.ts'
import type { Host, HostContext } from '../../lib/index.ts'
import { perRun } from '../../lib/runner/per-run.ts'
import { swarmSettings } from './settings.ts'

/**
 * A deploy's tracker and seeder when no server declares them and its first peer has already failed
 * (within max_fail, say at the lock): the first peer that has not. Set for the deploy's swarm only,
 * so that the murder:* tasks, run as commands of their own, always find them on the first peer.
 */
const deploySwarmHost = perRun((): { host?: Host } => ({}))

/** Murder's roles: declared ones win; else `peer` is every release server and tracker and seeder the first peer. */
export function murderHosts(): { tracker: Host; seeder: Host; peers: Host[] } {
  const servers = allServers()
  const declared = (role: string) => servers.filter((host) => host.roles.has(role))
  const first = deploySwarmHost().host ?? peerPool(servers)[0]
  if (!first) throw new UsageError('murder needs servers: declare them with server() or a stage file (roles/STAGE.yaml).')
  // Tracker and seeder serve the swarm even when ROLES=/HOSTS= leave their hosts out.
  const peers = declared('peer').length > 0 ? roles('peer') : roles().filter((h) => h.properties['no_release'] !== true)
  return { tracker: declared('tracker')[0] ?? first, seeder: declared('seeder')[0] ?? first, peers }
}

/** For a deploy's swarm: the first peer that has not failed in this run stands in for a first one that has. */
export function skipFailedFirstPeer(): void {
  const failed = new Set(failedHosts().map((host) => host.name))
  deploySwarmHost().host ??= peerPool(allServers()).find((host) => !failed.has(host.name))
}

/** Murder's `peer` role: the servers that declare it, else every server not `no_release`. */
function peerPool(servers: readonly Host[]): Host[] {
  const declared = servers.filter((host) => host.roles.has('peer'))
  return declared.length > 0 ? declared : servers.filter((host) => host.properties['no_release'] !== true)
}

/**
 * `on()` options for the swarm's hosts: the tracker and seeder serve a run `ROLES=`/`HOSTS=` narrow,
 * so they are not left out; the peers come from `roles()`, which the filters already narrowed.
 */
export const SWARM_HOSTS = { ignoreFilters: true } as const
/** The swarm's tracker and seeder: without them no host gets the release, so max_fail does not carry on past them. */
export const SWARM_ORIGIN = { ignoreFilters: true, onError: 'fail' } as const

/** Per host, this run's answer of addressOf (or what rememberAddress was told). */
const addresses = perRun(() => new Map<string, Promise<string>>())

/** An address learnt another way (the peers' survey), so that addressOf asks nothing more. */
export function rememberAddress(hostName: string, address: string): void {
  if (!addresses().has(hostName)) addresses().set(hostName, Promise.resolve(address))
}

/** The address the controller reached the host on (sshd's SSH_CONNECTION), or its `announce_ip`: never a DNS guess. */
export function addressOf(remote: HostContext): Promise<string> {
  const declared = remote.host.properties['announce_ip']
  if (typeof declared === 'string') return Promise.resolve(declared)
  if (isDryRun()) return Promise.resolve(`<address of ${remote.host.name}>`)
  let address = addresses().get(remote.host.name)
  if (!address) {
    address = remote.capture('printf %s "$SSH_CONNECTION"').then((text) => text.split(' ')[2] ?? '')
    addresses().set(remote.host.name, address)
  }
  return address
}

export async function trackerUrl(): Promise<string> {
  const { tracker } = murderHosts()
  let url = ''
  await on(tracker, SWARM_HOSTS, async (remote) => {
    url = `http://${await addressOf(remote)}:${swarmSettings().trackerPort}/announce`
  })
  return url
}

/** Work on the seeder that every peer needs: its failure fails the run, whatever max_fail allows. */
export async function onSeederWhateverBudget(seeder: Host, block: (remote: HostContext) => Promise<void>): Promise<void> {
  const failure = (await on(seeder, { ...SWARM_HOSTS, onError: 'continue' }, block)).failures.get(seeder.name)
  if (failure) throw new DeployError(failure.message, { exitCode: 1, cause: failure })
}
