// The peers' swarm (murder:peer, and deploy_via murder): every peer checked, downloading through
// its `peer` command, then placing the payload; progress shown, Ctrl-C and a stalled swarm handled.
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { setTimeout as wait } from 'node:timers/promises'
import { hostConcurrency, isDryRun, on, onInterrupt, showProgress, quote, DeployError, InterruptedError } from '../../lib/index.ts'
import type { Host, HostContext } from '../../lib/index.ts'
import { stdinIntoFile } from '../../lib/ssh/command.ts'
import { runAgent, runDirectory, type AgentLine } from '../../lib/torrent/agent-client.ts'
import type { MurderOptions } from '../../lib/torrent/murder-options.ts'
import { holdAgentCommand, type HeldCommand } from '../../lib/torrent/held-agent-command.ts'
import { SwarmProgress, type PeerCounters } from '../../lib/torrent/swarm-progress.ts'
import { swarmSettings, agentLocation } from './settings.ts'
import { murderHosts, SWARM_HOSTS, addressOf } from './swarm-hosts.ts'
import { stopAgents } from './agents.ts'
import { checkPeerTargets } from './peer-targets.ts'
import { type PeerPlan, placePayload } from './payload-placement.ts'
import { watchForStall } from './stall-watch.ts'

const PROGRESS_INTERVAL_MS = 500
/** A `peer` command ends within a second or two of its daemon being stopped. */
const FOLLOWER_END_MS = 5000
/** How long a download given up on may take to start its daemon before it is stopped anyway. */
const DAEMON_START_WAIT_MS = 60_000

function countersOf(event: AgentLine): PeerCounters {
  const number = (name: string) => (typeof event[name] === 'number' ? (event[name] as number) : 0)
  return {
    downloadedBytes: number('downloadedBytes'),
    totalBytes: number('totalBytes'),
    fromSeederBytes: number('fromSeederBytes'),
    fromPeersBytes: number('fromPeersBytes'),
    uploadedBytes: number('uploadedBytes'),
    downRateBps: number('downRateBps'),
  }
}

/**
 * Every peer downloads through the swarm, verifies, and puts the payload at `target` (a path on
 * each host; `~/` allowed). All peers are checked first, so a bad target leaves no host half-done.
 */
export async function peerSwarm(
  options: MurderOptions,
  peers: readonly Host[],
  target: string,
  plan: PeerPlan,
  swarm: {
    /** Each peer's `peer --hold` command, open after `done`, is recorded here to be stopped or let go. */
    held: HeldPeers
    /** Settles once the seeder's payload has arrived (deploy_via murder uploads it as peers start). */
    arrival?: Promise<void>
    /** The seeder's held `seed --hold` command (deploy_via murder), which unpacks there when the seeder is a target too. */
    seeding?: HeldCommand
  }
): Promise<void> {
  const { arrival, held } = swarm
  const { seeder } = murderHosts()
  const checked = await checkPeerTargets(options, peers, target, plan)
  // checkPeerTargets' survey has already learnt it when the seeder is a peer too.
  let seederAddress = ''
  await on(seeder, SWARM_HOSTS, async (remote) => {
    seederAddress = await addressOf(remote)
  })

  // A host that failed a round (within max_fail) is already reported and takes no further part:
  // it has no daemon to follow, or a target it must not be extracted into.
  const progress = new SwarmProgress(peers.map((host) => host.name))
  progress.markSeeder(seeder.name)
  let active = [...peers]
  const leaveOut = (failures: Map<string, Error>) => {
    for (const [name, error] of failures) progress.fail(name, error.message)
    active = active.filter((host) => !failures.has(host.name))
  }
  leaveOut(checked.failures)
  const ticker = setInterval(() => showProgress(progress.render()), PROGRESS_INTERVAL_MS)
  // Ctrl-C: stopping the peer daemons ends every host's `peer` command, so this task fails cleanly;
  // the seeder's own block stops waiting for an upload still running.
  let interrupt = (_error: Error): void => {}
  const interrupted = new Promise<never>((_resolve, reject) => (interrupt = reject))
  interrupted.catch(() => {})
  let interruption: InterruptedError | undefined
  const forgetInterrupt = onInterrupt(async (cause) => {
    interruption = InterruptedError.by(cause)
    interrupt(interruption)
    await stopPeering(options, peers)
  })
  const downloaders = active.filter((host) => host.name !== seeder.name)
  // If the seeder's payload never arrives, every download stops waiting for it.
  const seederPayload = arrival ?? Promise.resolve()
  let seederError: DeployError | undefined
  const seederFailure = seederPayload.then(
    () => new Promise<never>(() => {}),
    (error: unknown) => {
      seederError = new DeployError(`the release did not reach the seeder ${seeder.name}: ${error instanceof Error ? error.message : String(error)}`, { exitCode: 1 })
      throw seederError
    }
  )
  seederFailure.catch(() => {})
  const stallLimitS = swarmSettings().stallTimeoutS
  const stall = isDryRun() || stallLimitS === 0 ? undefined : watchForStall(options, progress, seederPayload, seeder.name, stallLimitS)
  const swarmFailure = stall ? Promise.race([seederFailure, stall.failure]) : seederFailure
  swarmFailure.catch(() => {})
  const givenUp = () => seederError ?? stall?.error()
  /** Hosts whose daemon was started ahead of its follower, and those whose follower began. */
  let launched: readonly Host[] = []
  const followed = new Set<string>()
  try {
    // `peer` holds a host's slot until its download ends: with more peers than --concurrency, the
    // rest would start only as the first ones finished. So then every daemon starts first (a short
    // command each), and `peer` follows the one already running.
    const isLaunchedFirst = downloaders.length > hostConcurrency()
    const torrent = isDryRun() ? undefined : readFileSync(options.torrentPath)
    if (isLaunchedFirst) {
      launched = downloaders
      const launch = await on(downloaders, SWARM_HOSTS, async (remote) => {
        await prepareDownload(remote, options, torrent)
        await runAgent(remote, agentLocation(), 'peer', { ...(await peerArguments(remote, options, seederAddress)), detach: true }, {
          // Only the launch knows it found an earlier run's daemon: the follower after it sees just a daemon.
          onEvent: (event) => {
            if (event.type === 'started' && event['wasRunning'] === true) progress.markEarlierPeer(remote.host.name)
          },
        })
      })
      leaveOut(launch.failures)
    }
    await on(active, SWARM_HOSTS, async (remote) => {
      const name = remote.host.name
      followed.add(name)
      try {
        // The seeder holds the payload at the same path (once arrived): it has nothing to download.
        if (name === seeder.name) {
          await Promise.race([seederPayload, interrupted])
          progress.finish(name)
        } else {
          // A host given up on counts as failed, and the clean-up after the swarm leaves failed hosts
          // out: its daemon, if it has one, is stopped here.
          const reason = givenUp()
          if (reason) {
            if (isLaunchedFirst) await stopPeerDaemon(remote, options)
            throw reason
          }
          const download = await downloadOnPeer(remote, options, seederAddress, progress, isLaunchedFirst, torrent)
          held.set(name, download.held)
          try {
            await Promise.race([download.finished, swarmFailure])
          } catch (error) {
            if (error === givenUp()) await giveUpDownload(remote, options, download)
            throw error
          }
        }
      } catch (error) {
        // A download the interruption's stop ended says so, not "killed by a signal (by hand …)".
        const failure = interruption ?? error
        progress.fail(name, failure instanceof Error ? failure.message : String(failure))
        throw failure
      }
      // Ctrl-C fails the host at once, as it stops a command; an unpacking there ends half-way at the
      // daemon's stop (a peer that is its own daemon) or at the `stop` the swarm's end below sends
      // every held command (a follower).
      const extraction = placePayload(remote, options, checked.targets.get(name) ?? target, plan, name === seeder.name ? swarm.seeding : held.get(name))
      extraction.catch(() => {})
      await Promise.race([extraction, interrupted])
    })
  } finally {
    stall?.stop()
    forgetInterrupt()
    clearInterval(ticker)
    showProgress([...progress.render(), ...progress.summary()], { final: true })
    // A failure past max_fail stops the hosts still waiting for a slot: a daemon launched there
    // would download (and seed) on with no one following it.
    const unfollowed = launched.filter((host) => !followed.has(host.name))
    if (unfollowed.length > 0 && !isDryRun()) await on(unfollowed, SWARM_HOSTS, (remote) => stopPeerDaemon(remote, options).catch(() => {}))
    // An interrupted run leaves no peer seeding on: a daemon whose pid file did not exist yet when
    // the interruption's stop came, or one that finished since, is told to stop by its own command
    // (a follower's unpacking ends half-way), rather than let go to seed for peer_seed_seconds.
    if (interruption) await Promise.all([...held.values()].map((command) => command.stop()))
  }
}

/** Stops the peer daemons of this tag on these hosts (Ctrl-C), saying nothing. */
async function stopPeering(options: MurderOptions, hosts: readonly Host[]): Promise<void> {
  await stopAgents(hosts, 'peer', { tag: options.tag }, true)
}

async function stopPeerDaemon(remote: HostContext, options: MurderOptions): Promise<void> {
  await runAgent(remote, agentLocation(), 'stop', { state: runDirectory(agentLocation()), kind: 'peer', tag: options.tag })
}

/** A host's `peer` command under way. */
interface Download {
  /** Its daemon runs, or the command ended. */
  started: Promise<void>
  /** The command ended (with its outcome); a held one's download is done and verified, or it ended. */
  finished: Promise<void>
  ended: Promise<void>
  held: HeldCommand
}

export type HeldPeers = Map<string, HeldCommand>

/**
 * Stops a host's download and waits (a while) for its `peer` command to end. The stop waits for the
 * daemon to run: a stop sent while `peer` was still starting it would find nothing, and the daemon
 * started after it would stay behind. Once it runs, its `peer` reports the stop.
 */
async function giveUpDownload(remote: HostContext, options: MurderOptions, download: Download): Promise<void> {
  await Promise.race([download.started, wait(DAEMON_START_WAIT_MS, undefined, { ref: false })])
  await stopPeerDaemon(remote, options)
  await Promise.race([download.ended.catch(() => {}), wait(FOLLOWER_END_MS, undefined, { ref: false })])
}

/**
 * Runs a host's `peer --hold` command: it stays after `done` until `stop` or the end of its stdin.
 * `isLaunched`: the daemon was started first (`peer --detach`), so this only follows it; otherwise
 * the command is the peer itself and the torrent (undefined in a dry run) comes first on its stdin.
 */
async function downloadOnPeer(remote: HostContext, options: MurderOptions, seederAddress: string, progress: SwarmProgress, isLaunched: boolean, torrent: Buffer | undefined): Promise<Download> {
  const name = remote.host.name
  let markStarted = () => {}
  const started = new Promise<void>((resolve) => (markStarted = resolve))
  const fromStdin = isLaunched ? undefined : (torrent?.length ?? '<torrent size>')
  const args = { ...(await peerArguments(remote, options, seederAddress)), follow: isLaunched, hold: true, 'torrent-from-stdin': fromStdin }
  const command = holdAgentCommand(remote, agentLocation(), 'peer', args, {
    readyOn: 'done',
    stdinFirst: isLaunched ? undefined : torrent,
    // A held `peer` with no daemon running is the daemon itself (the agent's foreground-peer.ts);
    // a follower of one started first unpacks the release: both move a payload's bytes.
    isTransfer: true,
    isDryRun: isDryRun(),
    onEvent: (event) => {
      if (event.type === 'started') markStarted()
      if (event.type === 'started' && event['wasRunning'] === true) progress.markEarlierPeer(name)
      if (event.type === 'progress') progress.update(name, countersOf(event))
      if (event.type === 'done') progress.finish(name, countersOf(event))
    },
  })
  void command.ended.finally(markStarted).catch(() => {})
  return { started, finished: command.ready.then(() => undefined), ended: command.ended, held: command.held }
}

/** The torrent reaches a host whose daemon is launched first in one command, its bytes on stdin: not a mkdir and then an SFTP session. */
async function prepareDownload(remote: HostContext, options: MurderOptions, torrent: Buffer | undefined): Promise<void> {
  await remote.run(`mkdir -p ${quote(options.tempPath)} && ${stdinIntoFile(options.torrentPath)}`, torrent ? { stdin: Readable.from([torrent]) } : {})
}

/** The `peer` arguments; the same words let `peer --follow` find the daemon `peer --detach` started. */
async function peerArguments(remote: HostContext, options: MurderOptions, seederAddress: string): Promise<Record<string, string | number>> {
  return {
    state: runDirectory(agentLocation()),
    tag: options.tag,
    torrent: options.torrentPath,
    payload: options.payloadPath,
    'announce-ip': await addressOf(remote),
    'seeder-ip': seederAddress,
    'seed-seconds': swarmSettings().seedSeconds,
    'timeout-s': swarmSettings().timeoutS,
    // A backstop for when no controller is left to give the swarm up (watchForStall): twice as long,
    // so that a controller still there says why first.
    'stall-s': 2 * swarmSettings().stallTimeoutS,
  }
}
