// Twitter Murder's tasks (../shared/reference/murder.md) on webtorrent: same names, arguments,
// variables and role defaults; agents are daemons with pid files instead of screen sessions.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, posix } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as wait } from 'node:timers/promises'
import { allServers, checkInterrupted, failedHosts, fetch, hostConcurrency, isDryRun, log, namespace, on, onInterrupt, roles, set, showProgress, task, quote, UsageError, DeployError, InterruptedError } from '../lib/index.ts'
import type { Host, HostContext } from '../lib/index.ts'
import { chain, stdinIntoFile } from '../lib/ssh/command.ts'
import { perRun } from '../lib/runner/per-run.ts'
import { readSurvey, surveyCommand, type PayloadKind, type PeerSurvey } from '../lib/torrent/peer-survey.ts'
import { torrentOfPayload } from '../lib/torrent/agent/make-torrent.ts'
import { agentArgv, agentPath, runAgent, runDirectory, type AgentLocation, type AgentLine } from '../lib/torrent/agent-client.ts'
import { formatKeyLine, newCipherKey, type PayloadKey } from '../lib/torrent/agent/payload-cipher.ts'
import { encryptRelease, type EncryptedRelease } from '../lib/deploy/release-source.ts'
import { checkPath, checkSafeToEmpty, emptyingRefusal, expandHome as expandHomeIn, holdsHome, isFlagSet, readAbsolutePath, whyUnsafeToEmpty, type DeployLayout, readMurderOptions, readSwarmSettings, withEnvironmentArguments, type Fetch, type MurderOptions, type SwarmSettings } from '../lib/torrent/murder-options.ts'
import { holdAgentCommand, type HeldAgentCommand, type HeldCommand } from '../lib/torrent/held-agent-command.ts'
import { formatUnpackRequest, type ProcessRef, type UnpackRequest } from '../lib/torrent/protocol.ts'
import { currentSession } from '../lib/runner/session.ts'
import { commandHint } from '../lib/runner/command-hint.ts'
import { SwarmProgress, type PeerCounters } from '../lib/torrent/swarm-progress.ts'
import { clearStaleArchivesCommand } from '../lib/deploy/releases.ts'

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

const MAX_FILES_TO_CLEAR = 1000
const PROGRESS_INTERVAL_MS = 500
const STALL_CHECK_MS = 1000
/** A `peer` command ends within a second or two of its daemon being stopped. */
const FOLLOWER_END_MS = 5000
/** How long a download given up on may take to start its daemon before it is stopped anyway. */
const DAEMON_START_WAIT_MS = 60_000

/** tracker_port, peer_seed_seconds, peer_timeout and swarm_stall_timeout, checked. */
function swarmSettings(): SwarmSettings {
  return readSwarmSettings(fetch)
}

/** What every murder task reads, checked before its first host: a bad value must touch none. */
function checkSwarmInputs(): void {
  swarmSettings()
  location()
}

/**
 * `deploy_to` and the names of its parts when this run has one: its default needs `application`,
 * which murder alone never sets.
 */
function deployLayoutIfSet(): DeployLayout | undefined {
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
const argument: Fetch = withEnvironmentArguments(fetch, process.env)

function location(): AgentLocation {
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
function skipFailedFirstPeer(): void {
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
const SWARM_HOSTS = { ignoreFilters: true } as const
/** The swarm's tracker and seeder: without them no host gets the release, so max_fail does not carry on past them. */
const SWARM_ORIGIN = { ignoreFilters: true, onError: 'fail' } as const

/** Per host, this run's answer of addressOf. */
const addresses = perRun(() => new Map<string, Promise<string>>())

/** The address the controller reached the host on (sshd's SSH_CONNECTION), or its `announce_ip`: never a DNS guess. */
function addressOf(remote: HostContext): Promise<string> {
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

async function trackerUrl(): Promise<string> {
  const { tracker } = murderHosts()
  let url = ''
  await on(tracker, SWARM_HOSTS, async (remote) => {
    url = `http://${await addressOf(remote)}:${swarmSettings().trackerPort}/announce`
  })
  return url
}

/** `~/x` as the remote shell would expand it, so that paths can still be quoted. */
async function expandHome(remote: HostContext, path: string): Promise<string> {
  if (!path.startsWith('~/')) return path
  const home = await remote.capture('printf %s "$HOME"')
  return `${home}${path.slice(1)}`
}

/** The agent needs Node >= 20 on the host: name the host and what to do when it is missing or older. */
async function checkNode(remote: HostContext, node: string): Promise<void> {
  const version = await remote.run([node, '-e', 'process.stdout.write(process.versions.node)'], { quiet: true, allowFailure: true })
  if (version.code !== 0) {
    throw new DeployError(`${remote.host.name}: ${node} is missing (exit ${version.code}); install Node >= 20 there or set murder_node.`, { exitCode: 1 })
  }
  const found = version.stdout.trim()
  if (!(Number(found.split('.')[0]) >= 20)) {
    throw new DeployError(`${remote.host.name}: Node ${found} is too old for the murder agent; install Node >= 20 there.`, { exitCode: 1 })
  }
}

async function requireAgent(remote: HostContext): Promise<void> {
  if (!(await remote.test(['test', '-f', agentPath(location())]))) throw agentMissing(remote)
}

function agentMissing(remote: HostContext): DeployError {
  return new DeployError(
    `${remote.host.name}: the murder agent is not installed at ${agentPath(location())}; run \`${commandHint('murder:distribute_files')}\` first.`,
    { exitCode: 1 }
  )
}

/**
 * Asks a peer host in one command (lib/torrent/peer-survey.ts) whether the agent is there, its
 * address and home, and whether the target is taken; remembers its address.
 */
async function surveyPeer(remote: HostContext, target: string, payload: PeerPlan['payload'], fileName: string): Promise<PeerSurvey> {
  const output = await remote.capture(surveyCommand(agentPath(location()), target, payload, fileName))
  if (isDryRun()) return { hasAgent: true, address: '', target, isOccupied: false, home: '' }
  let survey: PeerSurvey
  try {
    survey = readSurvey(output, target, fileName)
  } catch (error) {
    throw new DeployError(`${remote.host.name}: ${(error as Error).message}`, { exitCode: 1 })
  }
  if (!survey.hasAgent) throw agentMissing(remote)
  if (!addresses().has(remote.host.name)) addresses().set(remote.host.name, Promise.resolve(survey.address))
  return survey
}

async function downloadTorrent(options: MurderOptions): Promise<void> {
  const { seeder } = murderHosts()
  mkdirSync(dirname(options.torrentPath), { recursive: true })
  await on(seeder, SWARM_HOSTS, async (remote) => remote.download(options.torrentPath, options.torrentPath))
}

/**
 * The torrent peers get is the seeder's: a local copy left by an earlier run of the same tag
 * (say, after create_torrent with do_not_download_torrent=1) would name a payload nobody seeds.
 * The local copy is used only when the seeder no longer has one.
 */
async function refreshTorrent(options: MurderOptions): Promise<void> {
  let onSeeder = false
  await on(murderHosts().seeder, SWARM_HOSTS, async (remote) => {
    onSeeder = await remote.test(['test', '-f', options.torrentPath])
  })
  if (onSeeder) return downloadTorrent(options)
  if (!existsSync(options.torrentPath)) {
    throw new DeployError(`no torrent for tag ${options.tag}: neither the seeder nor this machine has ${options.torrentPath}; run murder:create_torrent first.`, { exitCode: 1 })
  }
}

type AgentKind = 'tracker' | 'seed' | 'peer'
const KIND_NAMES: Record<AgentKind, string> = { tracker: 'tracker', seed: 'seeder', peer: 'peer' }

/**
 * Stops the agent daemons of one kind on these hosts, those of `tag` or all of them, and says on
 * each host what it stopped or that nothing was running (`isQuiet`: the deploy's own clean-up).
 */
async function stopAgents(hosts: Host | readonly Host[], kind: AgentKind, which: { tag: string } | 'all', isQuiet = false): Promise<void> {
  location()
  await on(hosts, SWARM_HOSTS, async (remote) => {
    const selector = which === 'all' ? { all: true } : { tag: which.tag }
    const events = await runAgent(remote, location(), 'stop', { state: runDirectory(location()), kind, ...selector })
    if (!isQuiet) describeStop(remote, KIND_NAMES[kind], events)
  })
}

function describeStop(remote: HostContext, what: string, events: AgentLine[]): void {
  const stopped = events.find((event) => event.type === 'stopped')
  const list = Array.isArray(stopped?.['stopped']) ? (stopped['stopped'] as { kind?: string; tag?: string; pid?: number }[]) : []
  if (list.length === 0) log(`${remote.host.name}: no ${what} was running`)
  for (const item of list) log(`${remote.host.name}: stopped ${item.kind ?? what}${item.tag ? ` ${item.tag}` : ''} (pid ${item.pid})`)
}

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

namespace('murder', () => {
  task('distribute_files', { desc: 'Upload the murder agent to every tracker, seeder and peer host' }, async () => {
    const { tracker, seeder, peers } = murderHosts()
    // Unlike a swarm, the agent's copies need no tracker or seeder beyond what ROLES=/HOSTS= keep.
    const kept = new Set(roles().map((host) => host.name))
    const hosts = [...new Set([tracker, seeder, ...peers])].filter((host) => kept.has(host.name))
    const where = location()
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
      const events = await runAgent(remote, location(), 'tracker', { state: runDirectory(location()), port: swarmSettings().trackerPort })
      reportWasRunning(remote, events, 'a tracker')
    })
  })

  task('stop_tracker', { desc: 'Stop the tracker' }, stopTracker)

  task('create_torrent', { desc: 'Pack files_path into TEMP/TAG.tgz on the seeder and make its torrent' }, async () => {
    const options = readMurderOptions(argument)
    checkSwarmInputs()
    const filesPath = readAbsolutePath(argument, 'files_path', 'default_seeder_files_path', 'the files to distribute, on the seeder')
    const shouldDownload = !isFlagSet(argument, 'do_not_download_torrent')
    await createTorrent(options, filesPath, options.isPathFile)
    if (shouldDownload) await downloadTorrent(options)
  })

  task('download_torrent', { desc: 'Download TEMP/TAG.tgz.torrent from the seeder' }, async () => {
    await downloadTorrent(readMurderOptions(argument))
  })

  task('start_seeding', { desc: 'Seed TEMP/TAG.tgz from the seeder in the background' }, async () => {
    await startSeeding(readMurderOptions(argument))
  })

  task('stop_seeding', { desc: 'Stop seeding TAG' }, async () => {
    await stopSeeding(readMurderOptions(argument))
  })

  task('stop_all_seeding', { desc: 'Stop every seeder' }, async () => {
    await stopAgents(murderHosts().seeder, 'seed', 'all')
  })

  task('peer', { desc: 'Download TAG on every peer through the swarm and extract it into destination_path' }, async () => {
    const options = readMurderOptions(argument)
    const destination = readAbsolutePath(argument, 'destination_path', 'default_destination_path', 'where peers extract the files')
    const target = options.isPathFile || isFlagSet(argument, 'no_tag_directory') ? destination : posix.join(destination, options.tag)
    const shouldDelete = isFlagSet(argument, 'unsafe_please_delete')
    checkSwarmInputs()
    if (shouldDelete && !options.isPathFile) checkSafeToEmpty('unsafe_please_delete', target, deployLayoutIfSet(), location().murderPath)
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
    await stopAgents(murderHosts().peers, 'peer', { tag: readMurderOptions(argument).tag })
  })

  task('stop_all_peering', { desc: 'Stop every peer process' }, async () => {
    await stopAgents(murderHosts().peers, 'peer', 'all')
  })

  task('clean_temp_files', { desc: 'Remove TEMP/TAG.tgz and its torrent from peers and the seeder' }, async () => {
    const { seeder, peers } = murderHosts()
    const options = readMurderOptions(argument)
    await onSeederWhateverBudget(seeder, (remote) => refuseWhileSeeding(remote, options.tag, 'removing its files'))
    await cleanTempFiles(options, [seeder, ...peers])
    // And the controller's copy of the torrent, which create_torrent downloaded.
    if (!isDryRun()) rmSync(options.torrentPath, { force: true })
  })
})

/**
 * Without the payload on the seeder no peer can get it (and the seeder's own host, a peer too, would
 * extract nothing): said before any host is touched, whatever max_fail allows.
 */
async function checkSeederHolds(seeder: Host, options: MurderOptions): Promise<void> {
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

/** Work on the seeder that every peer needs: its failure fails the run, whatever max_fail allows. */
async function onSeederWhateverBudget(seeder: Host, block: (remote: HostContext) => Promise<void>): Promise<void> {
  const failure = (await on(seeder, { ...SWARM_HOSTS, onError: 'continue' }, block)).failures.get(seeder.name)
  if (failure) throw new DeployError(failure.message, { exitCode: 1, cause: failure })
}

/**
 * Puts the verified payload at the target: the tgz extracted, or the file copied. It runs as each
 * host's download ends, so every extra round trip or process lengthens the swarm's tail: a tgz is
 * unpacked by the host's held agent command (its peer, or the deploy's seeder) when there is one,
 * otherwise by one command.
 */
async function extract(remote: HostContext, options: MurderOptions, target: string, plan: PeerPlan, held: HeldCommand | undefined): Promise<void> {
  if (plan.payload === 'tgz' && held && (await unpackThroughHeld(remote, options, target, plan, held))) return
  const rename = plan.renameTo === undefined ? [] : [chain([['mv', target, plan.renameTo]])]
  if (plan.payload === 'file') {
    await remote.run([chain([['mkdir', '-p', dirname(target)], ['cp', options.payloadPath, target]]), ...rename].join(' && '))
    return
  }
  // A tar that fails half-way (a corrupt payload, a full disk) leaves the target empty, so that a
  // run again is not refused for a target that is "not empty".
  const emptyTarget = chain([['find', target, '-mindepth', '1', '-maxdepth', '1', '-exec', 'rm', '-rf', '{}', '+']])
  // An encrypted payload is decrypted by the agent into tar, its key on the command's stdin (so
  // an exec channel of its own, not the host's shell); each decrypted chunk is a fresh buffer, so
  // it runs with the transfer daemons' malloc tunables.
  const unpack = plan.key ? agentArgv(location(), 'unpack', { payload: options.payloadPath, into: target }, true) : ['tar', '-xzf', options.payloadPath, '-C', target]
  const untar = `{ ${chain([unpack])} || { ${emptyTarget}; false; }; }`
  const prepare = chain([...(plan.shouldDelete ? [['rm', '-rf', target]] : []), ['mkdir', '-p', target]])
  await remote.run([prepare, untar, ...rename].join(' && '), plan.key ? { stdin: Readable.from([formatKeyLine(plan.key)]) } : {})
}

/**
 * Asks the host's held agent command to unpack the payload it holds into the target (its key, if
 * any, in the request on that command's stdin): no process, shell or SSH session of its own. Shown
 * as a command is. False when that command is no longer open, so the caller runs one instead.
 */
async function unpackThroughHeld(remote: HostContext, options: MurderOptions, target: string, plan: PeerPlan, held: HeldCommand): Promise<boolean> {
  const request: UnpackRequest = {
    into: target,
    ...(plan.renameTo === undefined ? {} : { renameTo: plan.renameTo }),
    ...(plan.shouldDelete ? { emptyFirst: true } : {}),
    ...(plan.key ? { keyLine: formatKeyLine(plan.key).trim() } : {}),
  }
  const renamed = plan.renameTo === undefined ? '' : `, renamed to ${plan.renameTo}`
  const described = `unpack ${options.payloadPath} into ${target}${renamed}${plan.shouldDelete ? ', emptied first' : ''} (asked of the held agent command${plan.key ? ', the key with the request on its stdin' : ''})`
  if (!isDryRun() && !held.isOpen()) return false
  currentSession().reporter.emit({ type: 'command', host: remote.host.name, command: described })
  if (isDryRun()) return true
  let answer: AgentLine | undefined
  try {
    answer = await held.ask(formatUnpackRequest(request), ['unpacked', 'unpackFailed'])
  } catch (error) {
    // The command's own failure already names the host.
    if (error instanceof DeployError) throw error
    const why = error instanceof Error ? error.message : String(error)
    throw new DeployError(`${remote.host.name}: cannot unpack ${options.payloadPath} into ${target}: ${why} (stopped by murder:stop_peering or a signal? its log is in ${runDirectory(location())}); run it again.`, { exitCode: 1, cause: error })
  }
  if (!answer) return false
  if (answer.type === 'unpackFailed') throw new DeployError(`${remote.host.name}: ${String(answer['message'])}`, { exitCode: 1 })
  const warnings = Array.isArray(answer['warnings']) ? answer['warnings'] : []
  for (const warning of warnings) log(`${remote.host.name}: ${String(warning)}`, 'warn')
  return true
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
    const events = await runAgent(remote, location(), 'make-torrent', {
      source: await expandHome(remote, source),
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
async function refuseWhileSeeding(remote: HostContext, tag: string, doing: 'packing it again' | 'removing its files'): Promise<void> {
  if (isDryRun() || !(await isSeeding(remote, tag))) return
  const alternative = doing === 'packing it again' ? ', or use a new tag' : ''
  throw new DeployError(`${remote.host.name}: ${tag} is being seeded; ${doing} would pull its payload from under the swarm: run \`${commandHint(`murder:stop_seeding tag=${tag}`)}\` first${alternative}.`, { exitCode: 1 })
}

/** Whether a seeder daemon of `tag` runs on the host (the agent's `status`). */
async function isSeeding(remote: HostContext, tag: string): Promise<boolean> {
  const status = (await runAgent(remote, location(), 'status', { state: runDirectory(location()) })).find((event) => event.type === 'status')
  const running = Array.isArray(status?.['running']) ? (status['running'] as ProcessRef[]) : []
  return running.some((process) => process.kind === 'seed' && process.tag === tag)
}

/** The tracker serves only the torrents it was told of (a whitelist, as Murder's tracker). */
async function allowOnTracker(infoHash: string): Promise<void> {
  await on(murderHosts().tracker, SWARM_HOSTS, async (remote) => {
    await requireAgent(remote)
    await runAgent(remote, location(), 'allow', { state: runDirectory(location()), 'info-hash': infoHash })
  })
}

export async function startSeeding(options: MurderOptions): Promise<void> {
  location()
  await on(murderHosts().seeder, SWARM_HOSTS, async (remote) => {
    await requireAgent(remote)
    const events = await runAgent(remote, location(), 'seed', {
      state: runDirectory(location()),
      tag: options.tag,
      torrent: options.torrentPath,
      payload: options.payloadPath,
      'announce-ip': await addressOf(remote),
    })
    reportWasRunning(remote, events, `a seeder of ${options.tag}`)
  })
}

/** A start that found its daemon running with the same settings left it be: say so. */
function reportWasRunning(remote: HostContext, events: readonly AgentLine[], what: string): void {
  const started = events.find((event) => event.type === 'started')
  if (started?.['wasRunning'] === true) log(`${remote.host.name}: ${what} already runs there (pid ${String(started['pid'])}); left as is`)
}

export async function stopSeeding(options: MurderOptions): Promise<void> {
  await stopAgents(murderHosts().seeder, 'seed', { tag: options.tag })
}

export async function cleanTempFiles(options: MurderOptions, hosts: readonly Host[]): Promise<void> {
  await on([...new Set(hosts)], SWARM_HOSTS, async (remote) => {
    await remote.run(['rm', '-f', options.payloadPath, options.torrentPath])
  })
}

export interface PeerPlan {
  /** Empty a non-empty target first (unsafe_please_delete); otherwise such a host fails before any download. */
  shouldDelete: boolean
  /** `tgz`: extract the payload into the target directory; `file`: copy it to the target path. */
  payload: PayloadKind
  /** Once complete, the target is renamed to this path (deploy: the hidden incoming directory to the release's). */
  renameTo?: string
  /** The payload is encrypted with this key (deploy's swarm_encryption): each host gets it over SSH to unpack. */
  key?: PayloadKey
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
  const targets = new Map<string, string>()
  const layout = plan.shouldDelete ? deployLayoutIfSet() : undefined
  // The setting that names the target: a deploy's release goes under deploy_to.
  const setting = plan.renameTo === undefined ? 'destination_path' : 'deploy_to'
  const checked = await on(peers, SWARM_HOSTS, async (remote) => {
    const survey = await surveyPeer(remote, target, plan.payload, posix.basename(options.payloadPath))
    targets.set(remote.host.name, survey.target)
    // Found now, not after every byte has arrived.
    if (survey.unusable === 'not-a-directory') {
      throw new DeployError(`${remote.host.name}: ${survey.target} is a file, not a directory; move it out of the way or point ${setting} elsewhere.`, { exitCode: 1 })
    }
    if (survey.unusable === 'not-writable') {
      throw new DeployError(`${remote.host.name}: the SSH user cannot write to ${survey.target} (it or the nearest directory above it that exists is not writable); make that directory writable for the SSH user or choose a ${setting} it can write to.`, { exitCode: 1 })
    }
    if (survey.isOccupied && !plan.shouldDelete) {
      const what = plan.payload === 'file' ? 'exists; pass unsafe_please_delete=1 to replace it' : 'is not empty; pass unsafe_please_delete=1 to replace its contents'
      throw new DeployError(`${remote.host.name}: ${survey.target} ${what}.`, { exitCode: 1 })
    }
    if (plan.shouldDelete) {
      // Again with this host's home: `~/` in the target or in deploy_to, and the home itself.
      const here = layout && { ...layout, deployTo: expandHomeIn(layout.deployTo, survey.home) }
      const why = holdsHome(survey.target, survey.home) ? `it holds the home directory of the SSH user (${survey.home})` : whyUnsafeToEmpty(survey.target, here, location().murderPath)
      if (why !== undefined) throw new DeployError(`${remote.host.name}: ${emptyingRefusal('unsafe_please_delete', survey.target, why)}`, { exitCode: 1 })
    }
  })
  // Learnt in the survey when the seeder is a peer too.
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
        await runAgent(remote, location(), 'peer', { ...(await peerArguments(remote, options, seederAddress)), detach: true }, {
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
      const extraction = extract(remote, options, targets.get(name) ?? target, plan, name === seeder.name ? swarm.seeding : held.get(name))
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

/**
 * Gives the swarm up once no host has received a byte for swarm_stall_timeout: its source is gone
 * (the seeder stopped before any host held every piece), and without this every download would wait
 * for ever (peer_timeout is 0 by default). The clock starts once the seeder's payload has arrived.
 */
function watchForStall(options: MurderOptions, progress: SwarmProgress, source: Promise<void>, seederName: string, limitS: number): { failure: Promise<never>; error: () => DeployError | undefined; stop: () => void } {
  let error: DeployError | undefined
  let fail = (_error: DeployError): void => {}
  const failure = new Promise<never>((_resolve, reject) => (fail = reject))
  let hasArrived = false
  source.then(() => {
    hasArrived = true
    progress.restartQuietClock()
  }, () => {})
  const timer = setInterval(() => {
    if (!hasArrived || error || progress.quietMs() < limitS * 1000) return
    error = new DeployError(
      `the swarm of ${options.tag} stalled: no host received a byte for ${limitS} s (${progress.standing()}); check that the seeder ${seederName} still seeds it and run again, or raise swarm_stall_timeout.`,
      { exitCode: 1 }
    )
    fail(error)
  }, STALL_CHECK_MS)
  return { failure, error: () => error, stop: () => clearInterval(timer) }
}

async function stopPeerDaemon(remote: HostContext, options: MurderOptions): Promise<void> {
  await runAgent(remote, location(), 'stop', { state: runDirectory(location()), kind: 'peer', tag: options.tag })
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
  const command = holdAgentCommand(remote, location(), 'peer', args, {
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
    state: runDirectory(location()),
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

/** Uploads the agent only where it is missing or differs from this controller's build. */
export async function ensureAgent(hosts: readonly Host[]): Promise<void> {
  const agent = await agentBundle()
  const digest = createHash('sha256').update(readFileSync(agent.bundle)).digest('hex')
  const where = location()
  await on([...new Set(hosts)], SWARM_HOSTS, async (remote) => {
    const remoteDigest = await remote.capture(`sha256sum ${quote(agentPath(where))} 2>/dev/null || true`)
    if (remoteDigest.split(' ')[0] === digest) return
    await remote.run(['mkdir', '-p', where.murderPath])
    await installAgent(remote, where, agent.packed)
  })
}

/**
 * Puts the agent on a host from its gzipped bundle, replacing any older one in a single rename: an
 * upload cut short leaves only the partial files, never a half-written agent.
 */
async function installAgent(remote: HostContext, where: AgentLocation, packedBundle: string): Promise<void> {
  const agent = agentPath(where)
  const [packed, unpacked] = [`${agent}.gz.part`, `${agent}.part`]
  await remote.upload(packedBundle, packed)
  await remote.run(`gzip -dc ${quote(packed)} > ${quote(unpacked)} && mv -f ${quote(unpacked)} ${quote(agent)} && rm -f ${quote(packed)}`)
}

export async function stopTracker(): Promise<void> {
  await stopAgents(murderHosts().tracker, 'tracker', 'all')
}

export async function stopPeering(options: MurderOptions, hosts: readonly Host[]): Promise<void> {
  await stopAgents(hosts, 'peer', { tag: options.tag }, true)
}

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
        // truncates it; the torrent lands before the upload starts, which may fill tmp_dir. Old
        // archives killed deploys left go too: a seeder that is no target host is cleared only here.
        const clear = `${chain([['mkdir', '-p', tempPath], ['rm', '-f', payloadPath]])} && ${clearStaleArchivesCommand(tempPath, application)}`
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
        // (An interrupted swarm has already stopped every held command, ending any unpacking.)
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
    rmSync(options.torrentPath, { force: true })
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
    const args = { state: runDirectory(location()), port: swarmSettings().trackerPort, allow: infoHash, hold: true, 'orphan-idle-s': swarmSettings().stallTimeoutS }
    const command = holdAgentCommand(remote, location(), 'tracker', args, {
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
      state: runDirectory(location()),
      tag: options.tag,
      torrent: options.torrentPath,
      payload: options.payloadPath,
      'announce-ip': await addressOf(remote),
      arriving: true,
      hold: true,
      'orphan-idle-s': swarmSettings().stallTimeoutS,
    }
    const command = holdAgentCommand(remote, location(), 'seed', args, {
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
    const events = await runAgent(remote, location(), 'stop', { state: runDirectory(location()), kind: isSeeder ? 'seed' : 'peer', tag: options.tag })
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
  writeFileSync(options.torrentPath, torrent)
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

/** The agent bundle and its gzipped copy, built on demand: esbuild is loaded only by runs that ship the agent. */
async function agentBundle(): Promise<{ bundle: string; packed: string }> {
  const { buildAgent, packAgent } = await import('../lib/torrent/build-agent.ts')
  const bundle = await buildAgent()
  return { bundle, packed: await packAgent(bundle) }
}
