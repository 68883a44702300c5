// The murder agent's command line: the only process boundary of lib/torrent/agent. Each command
// (but `unpack`, silent) prints JSON lines (../protocol.ts) on stdout and, on failure, one line on
// stderr: exit 2 for a bad command line, 1 for anything wrong on the host. `daemon KIND …` is what
// the foreground commands start in the background; it is not meant to be run by hand.
import { AGENT_VERSION, formatEvent, type AgentEvent, type ProcessKind } from '../protocol.ts'
import { parseOptions, type OptionSpec } from './cli-options.ts'
import { allowTorrent, readStatus, stopProcesses } from './control.ts'
import { DaemonRuntime, runDaemonBody } from './daemon.ts'
import { tuneTransferDaemon } from './transfer-tuning.ts'
import { AgentError, AgentUsageError } from './errors.ts'
import { runHeldPeer } from './foreground-peer.ts'
import { makeTorrent } from './make-torrent.ts'
import { launchPeer, runPeer, runPeerDaemon, type PeerOptions } from './peer.ts'
import { runHeldSeeder, runSeedDaemon, startSeeding, type SeedOptions } from './seeder.ts'
import { receiveTorrent } from './torrent-stdin.ts'
import { readKeyLine, unpackPayload } from './unpack.ts'
import { runHeldTracker, runTrackerDaemon, startTracker, type TrackerOptions } from './tracker-daemon.ts'

const STATE = { kind: 'path', isRequired: true, what: "DIR (the agent's run directory, REMOTE_MURDER_PATH/run)" } as const

const SPECS = {
  tracker: {
    state: STATE,
    port: { kind: 'port', default: 8998, what: 'PORT' },
    host: { kind: 'host', default: '0.0.0.0', what: 'ADDRESS to listen on' },
    'announce-interval-s': { kind: 'seconds', default: 10, what: 'SECONDS between announces' },
    allow: { kind: 'infoHash', what: 'HEX: whitelist this torrent first (as `allow`), also on a tracker already running' },
    hold: { kind: 'flag', what: 'run the tracker in this process until a stop line on stdin; if one already runs here, leave it be and end at once' },
    'orphan-idle-s': { kind: 'seconds', default: 0, what: 'SECONDS: with --hold, once stdin ends before a stop line (the controller is gone), end after this long without an announce (0: run on)' },
  },
  allow: { state: STATE, 'info-hash': { kind: 'infoHash', isRequired: true, what: 'HEX (40 characters)' } },
  'make-torrent': {
    source: { kind: 'path', isRequired: true, what: 'PATH (the directory, or file with --path-is-file)' },
    tgz: { kind: 'path', isRequired: true, what: 'PATH (TEMP/TAG.tgz)' },
    torrent: { kind: 'path', isRequired: true, what: 'PATH (TEMP/TAG.tgz.torrent)' },
    announce: { kind: 'url', isRequired: true, what: 'URL (http://TRACKER:PORT/announce)' },
    'path-is-file': { kind: 'flag', what: '' },
  },
  seed: {
    state: STATE,
    tag: { kind: 'tag', isRequired: true, what: 'TAG' },
    torrent: { kind: 'path', isRequired: true, what: 'PATH (TEMP/TAG.tgz.torrent)' },
    payload: { kind: 'path', isRequired: true, what: 'PATH (TEMP/TAG.tgz)' },
    'announce-ip': { kind: 'ip', isRequired: true, what: 'IP (the address peers reach this host on)' },
    port: { kind: 'listenPort', default: 0, what: 'PORT (0: any free port)' },
    arriving: { kind: 'flag', what: 'the payload is still being uploaded: show peers each piece once its SHA-1 matches' },
    hold: { kind: 'flag', what: 'seed in this process; after started, answer unpack requests on stdin until a stop line (stop, remove payload and torrent)' },
    'orphan-idle-s': { kind: 'seconds', default: 0, what: 'SECONDS: with --hold, once stdin ends before a stop line (the controller is gone), end after this long without sending a byte (0: run on)' },
  },
  peer: {
    state: STATE,
    tag: { kind: 'tag', isRequired: true, what: 'TAG' },
    torrent: { kind: 'path', isRequired: true, what: 'PATH (TEMP/TAG.tgz.torrent)' },
    payload: { kind: 'path', isRequired: true, what: 'PATH (TEMP/TAG.tgz)' },
    'announce-ip': { kind: 'ip', isRequired: true, what: 'IP (the address other hosts reach this one on)' },
    'seeder-ip': { kind: 'ip', isRequired: true, what: "IP (the seeder's address)" },
    'seed-seconds': { kind: 'seconds', default: 30, what: 'SECONDS to seed on after the download' },
    'timeout-s': { kind: 'seconds', default: 0, what: 'SECONDS (0: no limit)' },
    'stall-s': { kind: 'seconds', default: 0, what: 'SECONDS: give up once no byte has arrived for this long, before done (0: no limit)' },
    port: { kind: 'listenPort', default: 0, what: 'PORT (0: any free port)' },
    detach: { kind: 'flag', what: 'return once the daemon runs; `peer --follow` then follows that daemon' },
    follow: { kind: 'flag', what: 'follow the running daemon of TAG, or say how it ended; never start one' },
    hold: { kind: 'flag', what: 'run the swarm in this process (or follow the daemon already running); after done, answer unpack requests on stdin until a stop line (stop, remove payload and torrent) or its end' },
    'torrent-from-stdin': { kind: 'bytes', what: 'BYTES: the torrent, this long, comes first on stdin and is written to --torrent' },
  },
  stop: {
    state: STATE,
    kind: { kind: 'kind', isRequired: true, what: 'tracker|seed|peer' },
    tag: { kind: 'tag', what: 'TAG' },
    all: { kind: 'flag', what: '' },
  },
  unpack: {
    payload: { kind: 'path', isRequired: true, what: 'PATH (TEMP/TAG.tgz, encrypted; the key line comes on stdin)' },
    into: { kind: 'path', isRequired: true, what: 'DIR (an existing directory to extract into)' },
  },
  status: { state: STATE },
  version: {},
} as const satisfies Record<string, Record<string, OptionSpec>>

type Command = keyof typeof SPECS
const USAGE = `usage: murder-agent ${Object.keys(SPECS).join('|')} [--options]`

function print(event: AgentEvent): void {
  process.stdout.write(`${formatEvent(event)}\n`)
}

function trackerOptions(argv: readonly string[], command = 'tracker'): TrackerOptions & { allow: string | undefined; hold: boolean; orphanIdleS: number } {
  const o = parseOptions(command, SPECS.tracker, argv)
  return { state: o.state, port: o.port, host: o.host, announceIntervalS: o['announce-interval-s'], allow: o.allow, hold: o.hold, orphanIdleS: o['orphan-idle-s'] }
}

function seedOptions(argv: readonly string[], command = 'seed'): SeedOptions & { hold: boolean; orphanIdleS: number } {
  const o = parseOptions(command, SPECS.seed, argv)
  return { state: o.state, tag: o.tag, torrent: o.torrent, payload: o.payload, announceIp: o['announce-ip'], port: o.port, isArriving: o.arriving, hold: o.hold, orphanIdleS: o['orphan-idle-s'] }
}

function peerOptions(argv: readonly string[], command = 'peer'): PeerOptions & { detach: boolean; follow: boolean; hold: boolean; torrentFromStdin: number | undefined } {
  const o = parseOptions(command, SPECS.peer, argv)
  if (o.detach && o.follow) throw new AgentUsageError('peer: --detach starts a daemon and --follow never does; pass one of them')
  if (o.detach && o.hold) throw new AgentUsageError('peer: --detach returns at once and --hold stays after done; pass one of them')
  return {
    detach: o.detach,
    follow: o.follow,
    hold: o.hold,
    torrentFromStdin: o['torrent-from-stdin'],
    state: o.state,
    tag: o.tag,
    torrent: o.torrent,
    payload: o.payload,
    announceIp: o['announce-ip'],
    seederIp: o['seeder-ip'],
    seedSeconds: o['seed-seconds'],
    timeoutS: o['timeout-s'],
    stallS: o['stall-s'],
    port: o.port,
  }
}

/** Set by a command that ran a swarm itself: whatever webtorrent left open must not keep it alive. */
let shouldExitWhenDone = false

/** Runs a foreground command; a number is its exit code. */
async function runCommand(command: Command, argv: readonly string[]): Promise<number | void> {
  switch (command) {
    case 'tracker': {
      const options = trackerOptions(argv)
      if (options.allow !== undefined) print(await allowTorrent(options.state, options.allow))
      if (!options.hold) return print(await startTracker(options))
      shouldExitWhenDone = true
      return runHeldTracker(options, options.orphanIdleS, print)
    }
    case 'allow': {
      const o = parseOptions(command, SPECS.allow, argv)
      return print(await allowTorrent(o.state, o['info-hash']))
    }
    case 'make-torrent': {
      const o = parseOptions(command, SPECS['make-torrent'], argv)
      return print(await makeTorrent({ source: o.source, tgz: o.tgz, torrent: o.torrent, announce: o.announce, isPathFile: o['path-is-file'] }))
    }
    case 'seed': {
      const options = seedOptions(argv)
      if (!options.hold) return print(await startSeeding(options))
      shouldExitWhenDone = true
      return runHeldSeeder(options, options.orphanIdleS, print)
    }
    case 'peer': {
      const options = peerOptions(argv)
      if (options.torrentFromStdin !== undefined) await receiveTorrent(options.torrent, options.torrentFromStdin, process.stdin)
      if (options.detach) {
        // Said, so that the controller can tell a re-run's earlier peer (its counters are its own) from a new one.
        const { record, wasRunning } = await launchPeer(options)
        return print({ type: 'started', kind: 'peer', pid: record.pid, tag: options.tag, ...(wasRunning ? { wasRunning: true as const } : {}) })
      }
      if (options.hold && !options.follow) {
        shouldExitWhenDone = true
        return runHeldPeer(options, print)
      }
      return runPeer(options, print, options.follow, options.hold)
    }
    case 'stop': {
      const o = parseOptions(command, SPECS.stop, argv)
      const kind = o.kind as ProcessKind
      if (kind === 'tracker' && o.tag !== undefined) throw new AgentUsageError('stop: the tracker has no tag; use --kind tracker alone')
      if (kind !== 'tracker' && (o.tag === undefined) === !o.all) throw new AgentUsageError(`stop: --kind ${kind} needs either --tag TAG or --all`)
      return print(await stopProcesses(o.state, kind, o.tag))
    }
    case 'unpack': {
      const o = parseOptions(command, SPECS.unpack, argv)
      return unpackPayload(o.payload, o.into, { key: await readKeyLine(process.stdin) })
    }
    case 'status': {
      const o = parseOptions(command, SPECS.status, argv)
      return print(await readStatus(o.state))
    }
    case 'version':
      parseOptions(command, SPECS.version, argv)
      return print({ type: 'version', agentVersion: AGENT_VERSION, nodeVersion: process.versions.node })
  }
}

/** The daemon half of tracker, seed and peer: runs until stopped or done. */
async function runDaemon(argv: readonly string[]): Promise<void> {
  const [kind, ...rest] = argv
  switch (kind) {
    case 'tracker': {
      const options = trackerOptions(rest, 'daemon tracker')
      return runDaemonBody(new DaemonRuntime(options.state, 'tracker'), async (runtime) => runTrackerDaemon(runtime, options))
    }
    case 'seed': {
      const options = seedOptions(rest, 'daemon seed')
      tuneTransferDaemon()
      return runDaemonBody(new DaemonRuntime(options.state, 'seed', options.tag), (runtime) => runSeedDaemon(runtime, options))
    }
    case 'peer': {
      const options = peerOptions(rest, 'daemon peer')
      tuneTransferDaemon()
      return runDaemonBody(new DaemonRuntime(options.state, 'peer', options.tag), (runtime) => runPeerDaemon(runtime, options))
    }
    default:
      throw new AgentUsageError(`daemon: unknown kind ${JSON.stringify(kind ?? '')}; use tracker, seed or peer`)
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 20) throw new AgentError(`the murder agent needs Node >= 20, this is ${process.versions.node}; install Node 20 or set murder_node.`)
  const [command, ...rest] = argv
  if (command === 'daemon') {
    await runDaemon(rest)
    return -1
  }
  if (command === undefined || !(command in SPECS)) {
    throw new AgentUsageError(`${command === undefined ? 'no command' : `unknown command ${JSON.stringify(command)}`}; ${USAGE}`)
  }
  return (await runCommand(command as Command, rest)) ?? 0
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof AgentUsageError || error instanceof AgentError) {
      process.stderr.write(`${error.message}\n`)
      process.exitCode = error instanceof AgentUsageError ? 2 : 1
      return
    }
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`${error instanceof Error ? (error.stack ?? '') : ''}\nmurder agent bug: ${message}\n`)
    process.exitCode = 1
  }
).finally(() => {
  if (shouldExitWhenDone) exitWhenFlushed()
})

/** Exits once stdout and stderr have passed on their last lines (a full pipe may hold them back), within 2 s. */
function exitWhenFlushed(): void {
  const flushed = [process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve())))
  const limit = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())
  void Promise.race([Promise.all(flushed), limit]).then(() => process.exit())
}
