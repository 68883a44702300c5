// Twitter Murder's tasks (../shared/reference/murder.md) on webtorrent: same names, arguments,
// variables and role defaults; agents are daemons with pid files instead of screen sessions. The
// tasks are defined here; murder/ holds the work behind them (and behind deploy_via murder).
import { rmSync } from 'node:fs'
import { posix } from 'node:path'
import { isDryRun, namespace, on, roles, task, quote, UsageError, DeployError } from '../lib/index.ts'
import { runAgent, runDirectory } from '../lib/torrent/agent-client.ts'
import { checkSafeToEmpty, emptyingRefusal, holdsHome, isFlagSet, readAbsolutePath, readMurderOptions } from '../lib/torrent/murder-options.ts'
import { swarmSettings, checkSwarmInputs, deployLayoutIfSet, murderArgument, agentLocation } from './murder/settings.ts'
import { murderHosts, SWARM_HOSTS, onSeederWhateverBudget } from './murder/swarm-hosts.ts'
import { checkNode, requireAgent, stopAgents, reportWasRunning, installAgent, stopTracker, agentBundle } from './murder/agents.ts'
import { downloadTorrent, refreshTorrent, checkSeederHolds, createTorrent, refuseWhileSeeding, startSeeding, stopSeeding, cleanTempFiles } from './murder/seeding.ts'
import { peerSwarm, type HeldPeers } from './murder/peer-swarm.ts'

const MAX_FILES_TO_CLEAR = 1000

namespace('murder', () => {
  task('distribute_files', { desc: 'Upload the murder agent to every tracker, seeder and peer host' }, async () => {
    const { tracker, seeder, peers } = murderHosts()
    // Unlike a swarm, the agent's copies need no tracker or seeder beyond what ROLES=/HOSTS= keep.
    const kept = new Set(roles().map((host) => host.name))
    const hosts = [...new Set([tracker, seeder, ...peers])].filter((host) => kept.has(host.name))
    const where = agentLocation()
    checkSafeToEmpty('remote_murder_path', where.murderPath, deployLayoutIfSet())
    const agent = await agentBundle()
    await on(hosts, SWARM_HOSTS, async (remote) => {
      if (!isDryRun()) await checkNode(remote, where.node)
      await remote.run(['mkdir', '-p', where.murderPath])
      // The run directory (agents' pid, log and event files) is kept, so it does not count.
      const [home = '', count = ''] = (await remote.capture(`printf '%s\\n' "$HOME" && cd ${quote(where.murderPath)} && find . -path ./run -prune -o -type f -print | wc -l`)).split('\n')
      if (holdsHome(where.murderPath, home)) {
        throw new DeployError(`${remote.host.name}: ${emptyingRefusal('remote_murder_path', where.murderPath, `it holds the home directory of the SSH user (${home})`)}`, { exitCode: 1 })
      }
      const fileCount = Number(count)
      if (fileCount >= MAX_FILES_TO_CLEAR) {
        throw new DeployError(
          `${remote.host.name}: refusing to clear ${where.murderPath}: it holds ${fileCount} files; check remote_murder_path.`,
          { exitCode: 1 }
        )
      }
      await remote.run(['find', where.murderPath, '-mindepth', '1', '-maxdepth', '1', '!', '-name', 'run', '-exec', 'rm', '-rf', '{}', '+'])
      await installAgent(remote, where, agent.packed)
    })
  })

  task('start_tracker', { desc: 'Start the tracker in the background on tracker_port' }, async () => {
    checkSwarmInputs()
    const { tracker } = murderHosts()
    await on(tracker, SWARM_HOSTS, async (remote) => {
      await requireAgent(remote)
      const events = await runAgent(remote, agentLocation(), 'tracker', { state: runDirectory(agentLocation()), port: swarmSettings().trackerPort })
      reportWasRunning(remote, events, 'a tracker')
    })
  })

  task('stop_tracker', { desc: 'Stop the tracker' }, stopTracker)

  task('create_torrent', { desc: 'Pack files_path into TEMP/TAG.tgz on the seeder and make its torrent' }, async () => {
    const options = readMurderOptions(murderArgument)
    checkSwarmInputs()
    const filesPath = readAbsolutePath(murderArgument, 'files_path', 'default_seeder_files_path', 'the files to distribute, on the seeder')
    const shouldDownload = !isFlagSet(murderArgument, 'do_not_download_torrent')
    await createTorrent(options, filesPath, options.isPathFile)
    if (shouldDownload) await downloadTorrent(options)
  })

  task('download_torrent', { desc: 'Download TEMP/TAG.tgz.torrent from the seeder' }, async () => {
    await downloadTorrent(readMurderOptions(murderArgument))
  })

  task('start_seeding', { desc: 'Seed TEMP/TAG.tgz from the seeder in the background' }, async () => {
    await startSeeding(readMurderOptions(murderArgument))
  })

  task('stop_seeding', { desc: 'Stop seeding TAG' }, async () => {
    await stopSeeding(readMurderOptions(murderArgument))
  })

  task('stop_all_seeding', { desc: 'Stop every seeder' }, async () => {
    await stopAgents(murderHosts().seeder, 'seed', 'all')
  })

  task('peer', { desc: 'Download TAG on every peer through the swarm and extract it into destination_path' }, async () => {
    const options = readMurderOptions(murderArgument)
    const destination = readAbsolutePath(murderArgument, 'destination_path', 'default_destination_path', 'where peers extract the files')
    const target = options.isPathFile || isFlagSet(murderArgument, 'no_tag_directory') ? destination : posix.join(destination, options.tag)
    const shouldDelete = isFlagSet(murderArgument, 'unsafe_please_delete')
    checkSwarmInputs()
    if (shouldDelete && !options.isPathFile) checkSafeToEmpty('unsafe_please_delete', target, deployLayoutIfSet(), agentLocation().murderPath)
    const { seeder, peers } = murderHosts()
    if (peers.length === 0) throw new UsageError('murder:peer has no peers to run on after the ROLES=/HOSTS= filters.')
    await refreshTorrent(options)
    await checkSeederHolds(seeder, options)
    // Each host's `peer` command is its peer daemon (or follows one): held open after `done`, then
    // let go, it seeds on for peer_seed_seconds as Murder's peers do, one Node process per host.
    const held: HeldPeers = new Map()
    try {
      await peerSwarm(options, peers, target, { shouldDelete, payload: options.isPathFile ? 'file' : 'tgz' }, { held })
    } finally {
      for (const command of held.values()) command.release()
    }
  })

  task('stop_peering', { desc: 'Stop the peer processes of TAG' }, async () => {
    await stopAgents(murderHosts().peers, 'peer', { tag: readMurderOptions(murderArgument).tag })
  })

  task('stop_all_peering', { desc: 'Stop every peer process' }, async () => {
    await stopAgents(murderHosts().peers, 'peer', 'all')
  })

  task('clean_temp_files', { desc: 'Remove TEMP/TAG.tgz and its torrent from peers and the seeder' }, async () => {
    const { seeder, peers } = murderHosts()
    const options = readMurderOptions(murderArgument)
    await onSeederWhateverBudget(seeder, (remote) => refuseWhileSeeding(remote, options.tag, 'removing its files'))
    await cleanTempFiles(options, [seeder, ...peers])
    // And the controller's copy of the torrent, which create_torrent downloaded.
    if (!isDryRun()) rmSync(options.torrentPath, { force: true })
  })
})
