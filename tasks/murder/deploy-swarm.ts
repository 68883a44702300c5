// deploy_via murder: the release to the seeder and through the swarm to every host, with the
// tracker, seeder and peers held as commands for the deploy's length.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { Readable } from 'node:stream'
import { checkInterrupted, isDryRun, log, on, roles, DeployError } from '../../lib/index.ts'
import type { Host, HostContext } from '../../lib/index.ts'
import { chain, privateFileCommand, stdinIntoFile } from '../../lib/ssh/command.ts'
import { newCipherKey } from '../../lib/torrent/agent/payload-cipher.ts'
import { torrentOfPayload } from '../../lib/torrent/agent/make-torrent.ts'
import { runAgent, runDirectory, type AgentLine } from '../../lib/torrent/agent-client.ts'
import { encryptRelease, type EncryptedRelease } from '../../lib/deploy/release-source.ts'
import type { MurderOptions } from '../../lib/torrent/murder-options.ts'
import { holdAgentCommand, type HeldAgentCommand, type HeldCommand } from '../../lib/torrent/held-agent-command.ts'
import { clearStaleArchivesCommand } from '../../lib/deploy/releases.ts'
import { swarmSettings, checkSwarmInputs, agentLocation } from './settings.ts'
import { murderHosts, skipFailedFirstPeer, SWARM_HOSTS, SWARM_ORIGIN, addressOf, trackerUrl, onSeederWhateverBudget } from './swarm-hosts.ts'
import { KIND_NAMES, describeStop, ensureAgent, stopTracker } from './agents.ts'
import type { PeerPlan } from './payload-placement.ts'
import { peerSwarm, type HeldPeers } from './peer-swarm.ts'

/** Where a deploy puts its release on each host: filled under `incoming`, renamed to `release` when complete. */
export interface ReleaseTarget {
  incoming: string
  release: string
}

/**
 * Murder as a deploy strategy: the release tgz goes to the seeder once and through the swarm into
 * `target.incoming` on every host, renamed to `target.release` there once extracted; seeding and
 * peering stop and temp files go once all hold it. The torrent is made here, from the release this
 * controller holds, so the upload to the seeder and the swarm overlap instead of following each
 * other: the seeder shows peers each piece once it has arrived. The tracker (unless one runs), the
 * seeder and every peer are commands held open (`--hold`), each its own daemon, told to stop on
 * their stdin: no `status`, `allow` or `stop` process on any host.
 */
export async function distributeWithMurder(tgzPath: string, hosts: readonly Host[], target: ReleaseTarget, tag: string, tempPath: string, application: string, isEncrypted: boolean): Promise<void> {
  const payloadPath = `${tempPath}/${tag}.tgz`
  const options: MurderOptions = { tag, tempPath, payloadPath, torrentPath: `${payloadPath}.torrent`, isPathFile: false }
  checkSwarmInputs()
  skipFailedFirstPeer()
  const { tracker, seeder } = murderHosts()
  let sealed: EncryptedRelease | undefined
  try {
    // Before this step touches a host: a TMPDIR too full for the copy fails here.
    sealed = isEncrypted ? await sealRelease(tgzPath) : undefined
    await ensureAgent([tracker, seeder, ...hosts])
    const made = await makeTorrentHere(options, sealed?.path ?? tgzPath)
    const tracking = await holdTracker(made.infoHash)
    try {
      // Ctrl-C before the swarm has a cleanup of its own: nothing more starts, and the finally
      // blocks stop what has (a swarm started anyway would run to its end before the deploy fails).
      checkInterrupted()
      await on(seeder, SWARM_HOSTS, async (remote) => {
        // A payload of this tag left by a killed run must not count as arrived before the upload
        // truncates it (a new, private, empty file is made for the upload to fill); the torrent lands
        // before the upload starts, which may fill tmp_dir. Old archives killed deploys left go too: a
        // seeder that is no target host is cleared only here.
        const clear = `${chain([['mkdir', '-p', tempPath]])} && ${privateFileCommand(payloadPath)} && ${clearStaleArchivesCommand(tempPath, application)}`
        await remote.run(`${clear} && ${stdinIntoFile(options.torrentPath)}`, made.torrent ? { stdin: Readable.from([made.torrent]) } : {})
      })
      // The upload starts first; the seeder starts on the part that has arrived.
      const arrival = uploadToSeeder(seeder, sealed?.path ?? tgzPath, options.payloadPath, made.sha256)
      arrival.catch(() => {}) // peerSwarm and the await below report it
      const held: HeldPeers = new Map()
      let seeding: HeldCommand | undefined
      try {
        seeding = await holdSeeder(options)
        checkInterrupted()
        const plan: PeerPlan = { shouldDelete: false, payload: 'tgz', renameTo: target.release, ...(sealed ? { key: sealed.key } : {}) }
        await peerSwarm(options, hosts, target.incoming, plan, { arrival, held, seeding })
        await arrival
      } finally {
        // Hosts that failed (within max_fail) may be unreachable: waiting on them again helps nobody.
        // (An interrupted swarm has already stopped every held command, in peerSwarm's finally, ending any unpacking.)
        const live = new Set(roles().map((host) => host.name))
        for (const [name, command] of held) if (!live.has(name)) command.release()
        await endSwarm(options, seeder, hosts.filter((host) => live.has(host.name)), held, seeding)
      }
    } finally {
      // After the swarm: with the tracker gone, every host's `stopped` announce would wait out its 1 s
      // timeout. The command is the tracker: one that ended without saying `stopped` is gone, and
      // only one that does not answer is stopped through its pid file.
      if (tracking && !(await tracking.held.stop()) && !tracking.hasEnded()) await stopTracker()
    }
  } finally {
    // Not over the run's own error: another user's file there (see makeTorrentHere) cannot be removed.
    try {
      rmSync(options.torrentPath, { force: true })
    } catch {}
    sealed?.remove()
  }
}

/**
 * The release encrypted for the swarm; in a dry run only the key is made (nothing is sent), so
 * that the commands shown are those of a real run.
 */
async function sealRelease(tgzPath: string): Promise<EncryptedRelease> {
  if (isDryRun()) {
    log('dry run: the release would be encrypted here with a new key (swarm_encryption), which each host receives with its unpack request on the stdin of its held agent command')
    return { path: `<${basename(tgzPath)}, encrypted>`, key: { ...newCipherKey(), plainSha256: '0'.repeat(64) }, remove: () => {} }
  }
  return encryptRelease(tgzPath)
}

/**
 * The deploy's tracker: `tracker --hold`, the torrent allowed first. Undefined when a tracker
 * already ran there (`murder:start_tracker`, or a deploy that was killed): it is used and left running.
 */
async function holdTracker(infoHash: string): Promise<HeldAgentCommand | undefined> {
  let tracking: HeldAgentCommand | undefined
  await on(murderHosts().tracker, SWARM_ORIGIN, async (remote) => {
    const args = { state: runDirectory(agentLocation()), port: swarmSettings().trackerPort, allow: infoHash, hold: true, 'orphan-idle-s': swarmSettings().stallTimeoutS }
    const command = holdAgentCommand(remote, agentLocation(), 'tracker', args, {
      readyOn: 'started',
      isDryRun: isDryRun(),
      onEvent: describeHeldStop(remote, KIND_NAMES.tracker),
      onLost: warnLost(remote, KIND_NAMES.tracker),
    })
    if (await command.ready) tracking = command
    else if (!isDryRun()) log(`${remote.host.name}: a tracker already runs there; this deploy uses it and leaves it running`)
  })
  if (isDryRun()) log('dry run: `tracker --hold` starts a tracker unless one runs there; one it started gets `stop` on its stdin after the swarm')
  return tracking
}

/** The deploy's seeder: `seed --hold --arriving`; returns once it has announced. */
async function holdSeeder(options: MurderOptions): Promise<HeldCommand> {
  let seeding: HeldCommand | undefined
  await on(murderHosts().seeder, SWARM_ORIGIN, async (remote) => {
    const args = {
      state: runDirectory(agentLocation()),
      tag: options.tag,
      torrent: options.torrentPath,
      payload: options.payloadPath,
      'announce-ip': await addressOf(remote),
      arriving: true,
      hold: true,
      'orphan-idle-s': swarmSettings().stallTimeoutS,
    }
    const command = holdAgentCommand(remote, agentLocation(), 'seed', args, {
      readyOn: 'started',
      isTransfer: true,
      isDryRun: isDryRun(),
      onEvent: describeHeldStop(remote, KIND_NAMES.seed),
      onLost: warnLost(remote, KIND_NAMES.seed),
    })
    await command.ready
    seeding = command.held
  })
  if (!seeding) throw new DeployError('the seeder did not start', { exitCode: 1 })
  return seeding
}

/** A held tracker or seeder that died mid-swarm is said at once: the hosts still downloading may stall. */
function warnLost(remote: HostContext, what: string): (failure: unknown) => void {
  return (failure) => {
    const why = failure instanceof Error ? `: ${failure.message}` : ''
    log(`${remote.host.name}: the ${what} ended before the swarm did${why}; hosts still downloading go on with the peers they know and give up if none receives a byte for swarm_stall_timeout`, 'warn')
  }
}

/** Says what a held command stopped, as `stop` does for the others. */
function describeHeldStop(remote: HostContext, what: string): (event: AgentLine) => void {
  return (event) => {
    if (event.type === 'stopped') describeStop(remote, what, [event])
  }
}

/**
 * The deploy's clean-up after its swarm, all hosts at once: the seeder stops seeding, every peer
 * stops its daemon, and each then removes the payload and torrent. One round instead of one per
 * step, since none waits on another host (every host already holds the release, or has failed).
 * A host whose command is still held does both itself when asked, without a new command.
 */
async function endSwarm(options: MurderOptions, seeder: Host, peers: readonly Host[], held: HeldPeers, seeding: HeldCommand | undefined): Promise<void> {
  const others = peers.filter((host) => host.name !== seeder.name)
  if (isDryRun() && held.size > 0) log('dry run: the seeder\'s `seed --hold` and each peer\'s `peer --hold` command would get `stop` on its stdin: each leaves the swarm, its payload and torrent go')
  await on([seeder, ...others], SWARM_HOSTS, async (remote) => {
    const isSeeder = remote.host.name === seeder.name
    const heldCommand = isSeeder ? seeding : held.get(remote.host.name)
    if (heldCommand && (await heldCommand.stop())) return
    const events = await runAgent(remote, agentLocation(), 'stop', { state: runDirectory(agentLocation()), kind: isSeeder ? 'seed' : 'peer', tag: options.tag })
    if (isSeeder) describeStop(remote, KIND_NAMES.seed, events)
    await remote.run(['rm', '-f', options.payloadPath, options.torrentPath])
  })
}

/** Writes the release's torrent to this machine's torrentPath; returns it (undefined in a dry run) with the release's SHA-256 and info hash. */
async function makeTorrentHere(options: MurderOptions, tgzPath: string): Promise<{ torrent: Buffer | undefined; sha256: string; infoHash: string }> {
  const announce = await trackerUrl()
  if (isDryRun()) {
    log(`dry run: the torrent of ${tgzPath} would be made here as ${options.torrentPath}, announcing to ${announce}`)
    return { torrent: undefined, sha256: '<sha256>', infoHash: '<info hash>' }
  }
  const { torrent, event } = await torrentOfPayload(tgzPath, basename(options.payloadPath), announce)
  mkdirSync(dirname(options.torrentPath), { recursive: true })
  // This machine's tmp_dir may be shared too (a CI runner): a file or link another user put at the
  // name fails the removal, and the torrent is made anew, never written through a link.
  rmSync(options.torrentPath, { force: true })
  writeFileSync(options.torrentPath, torrent, { flag: 'wx', mode: 0o600 })
  log(`${options.payloadPath}: ${event.sizeBytes} bytes in ${event.pieces} pieces, sha256 ${event.sha256}, info hash ${event.infoHash}`)
  return { torrent: Buffer.from(torrent), sha256: event.sha256, infoHash: event.infoHash }
}

/**
 * Uploads the release to the seeder's payload path (where it is already being seeded) and checks it
 * arrived whole. A failure fails the deploy whatever max_fail allows: no host can get the release.
 */
async function uploadToSeeder(seeder: Host, tgzPath: string, payloadPath: string, sha256: string): Promise<void> {
  await onSeederWhateverBudget(seeder, async (remote) => {
    await remote.upload(tgzPath, payloadPath, { mode: 0o600 })
    const found = (await remote.capture(['sha256sum', payloadPath])).split(' ')[0]
    if (!isDryRun() && found !== sha256) throw new DeployError(`${remote.host.name}: the release arrived as ${payloadPath} with sha256 ${found}, not ${sha256}; deploy again.`, { exitCode: 1 })
  })
}
