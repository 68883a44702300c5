// The seeder's side: the payload packed and its torrent made (and copied to this machine),
// whitelisted, seeded; and the temp files removed from the seeder and peers.
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { isDryRun, log, on, DeployError } from '../../lib/index.ts'
import type { Host, HostContext } from '../../lib/index.ts'
import { runAgent, runDirectory } from '../../lib/torrent/agent-client.ts'
import type { MurderOptions } from '../../lib/torrent/murder-options.ts'
import { commandHint } from '../../lib/runner/command-hint.ts'
import { agentLocation } from './settings.ts'
import { murderHosts, SWARM_HOSTS, addressOf, trackerUrl, onSeederWhateverBudget } from './swarm-hosts.ts'
import { requireAgent, stopAgents, reportWasRunning, isSeeding } from './agents.ts'

/** `~/x` as the remote shell would expand it, so that paths can still be quoted. */
async function expandRemoteHome(remote: HostContext, path: string): Promise<string> {
  if (!path.startsWith('~/')) return path
  const home = await remote.capture('printf %s "$HOME"')
  return `${home}${path.slice(1)}`
}

export async function downloadTorrent(options: MurderOptions): Promise<void> {
  const { seeder } = murderHosts()
  mkdirSync(dirname(options.torrentPath), { recursive: true })
  await on(seeder, SWARM_HOSTS, async (remote) => remote.download(options.torrentPath, options.torrentPath))
}

/**
 * The torrent peers get is the seeder's: a local copy left by an earlier run of the same tag
 * (say, after create_torrent with do_not_download_torrent=1) would name a payload nobody seeds.
 * The local copy is used only when the seeder no longer has one.
 */
export async function refreshTorrent(options: MurderOptions): Promise<void> {
  let onSeeder = false
  await on(murderHosts().seeder, SWARM_HOSTS, async (remote) => {
    onSeeder = await remote.test(['test', '-f', options.torrentPath])
  })
  if (onSeeder) return downloadTorrent(options)
  if (!existsSync(options.torrentPath)) {
    throw new DeployError(`no torrent for tag ${options.tag}: neither the seeder nor this machine has ${options.torrentPath}; run murder:create_torrent first.`, { exitCode: 1 })
  }
}

/**
 * Without the payload on the seeder no peer can get it (and the seeder's own host, a peer too, would
 * extract nothing): said before any host is touched, whatever max_fail allows.
 */
export async function checkSeederHolds(seeder: Host, options: MurderOptions): Promise<void> {
  await onSeederWhateverBudget(seeder, async (remote) => {
    if (!(await remote.test(['test', '-f', options.payloadPath]))) {
      throw new DeployError(`${remote.host.name}: the seeder does not hold ${options.payloadPath} (any more); run murder:create_torrent tag=${options.tag} and murder:start_seeding.`, { exitCode: 1 })
    }
    // Without a seeder every peer would wait out swarm_stall_timeout before failing.
    if (!isDryRun() && !(await isSeeding(remote, options.tag))) {
      throw new DeployError(`${remote.host.name}: nothing seeds ${options.tag} there; run \`${commandHint(`murder:start_seeding tag=${options.tag}`)}\` first.`, { exitCode: 1 })
    }
  })
}

/** Packs (or copies, for a single file or a ready tgz) the source on the seeder, makes the torrent and whitelists it. */
export async function createTorrent(options: MurderOptions, source: string, isSingleFile: boolean): Promise<string> {
  const { seeder } = murderHosts()
  const announce = await trackerUrl()
  let infoHash = ''
  await on(seeder, SWARM_HOSTS, async (remote) => {
    await requireAgent(remote)
    await refuseWhileSeeding(remote, options.tag, 'packing it again')
    await remote.run(['mkdir', '-p', options.tempPath])
    const events = await runAgent(remote, agentLocation(), 'make-torrent', {
      source: await expandRemoteHome(remote, source),
      tgz: options.payloadPath,
      torrent: options.torrentPath,
      announce,
      'path-is-file': isSingleFile,
    })
    const made = events.find((event) => event.type === 'torrent')
    infoHash = typeof made?.['infoHash'] === 'string' ? made['infoHash'] : ''
    if (made) log(`${remote.host.name}: ${options.payloadPath} ${String(made['sizeBytes'])} bytes, sha256 ${String(made['sha256'])}, info hash ${infoHash}`)
  })
  if (isDryRun()) infoHash = '<info hash>'
  else if (!/^[0-9a-f]{40}$/.test(infoHash)) throw new DeployError('murder agent make-torrent did not report an info hash', { exitCode: 1 })
  await allowOnTracker(infoHash)
  return infoHash
}

/**
 * A seeder of `tag` serves the payload its torrent names: packing the tag again (`doing`) would
 * change the payload under it, and removing it would leave nothing to seed.
 */
export async function refuseWhileSeeding(remote: HostContext, tag: string, doing: 'packing it again' | 'removing its files'): Promise<void> {
  if (isDryRun() || !(await isSeeding(remote, tag))) return
  const alternative = doing === 'packing it again' ? ', or use a new tag' : ''
  throw new DeployError(`${remote.host.name}: ${tag} is being seeded; ${doing} would pull its payload from under the swarm: run \`${commandHint(`murder:stop_seeding tag=${tag}`)}\` first${alternative}.`, { exitCode: 1 })
}

/** The tracker serves only the torrents it was told of (a whitelist, as Murder's tracker). */
async function allowOnTracker(infoHash: string): Promise<void> {
  await on(murderHosts().tracker, SWARM_HOSTS, async (remote) => {
    await requireAgent(remote)
    await runAgent(remote, agentLocation(), 'allow', { state: runDirectory(agentLocation()), 'info-hash': infoHash })
  })
}

export async function startSeeding(options: MurderOptions): Promise<void> {
  agentLocation()
  await on(murderHosts().seeder, SWARM_HOSTS, async (remote) => {
    await requireAgent(remote)
    const events = await runAgent(remote, agentLocation(), 'seed', {
      state: runDirectory(agentLocation()),
      tag: options.tag,
      torrent: options.torrentPath,
      payload: options.payloadPath,
      'announce-ip': await addressOf(remote),
    })
    reportWasRunning(remote, events, `a seeder of ${options.tag}`)
  })
}

export async function stopSeeding(options: MurderOptions): Promise<void> {
  await stopAgents(murderHosts().seeder, 'seed', { tag: options.tag })
}

export async function cleanTempFiles(options: MurderOptions, hosts: readonly Host[]): Promise<void> {
  await on([...new Set(hosts)], SWARM_HOSTS, async (remote) => {
    await remote.run(['rm', '-f', options.payloadPath, options.torrentPath])
  })
}
