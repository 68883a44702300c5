// `seed`: a daemon that seeds the payload until stopped. It checks the payload's SHA-256 against
// the torrent first, so webtorrent may skip hashing every piece again; or, with --arriving, it
// starts while the payload is still being uploaded and shows peers each piece once its hash checks.
// With --hold the command is the seeder itself, until the controller's `stop` on its stdin.
import { stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { AgentEvent } from '../protocol.ts'
import { ensureNotRunning, runningTwin, startDaemonAndWait, type DaemonRuntime } from './daemon.ts'
import { ArrivingPayload } from './arriving-payload.ts'
import { AgentError } from './errors.ts'
import { runForegroundDaemon } from './foreground-daemon.ts'
import { sha256File } from './payload-hash.ts'
import { collectStats, statsWriter } from './stats-file.ts'
import { loadSwarmClient } from './lazy-modules.ts'
import type { SwarmSession } from './swarm-client.ts'
import { readTorrentMeta, type TorrentMeta } from './torrent-meta.ts'
import { waitForFirstAnnounce } from './tracker-watch.ts'

const STATS_INTERVAL_MS = 1000
/** Hashing a multi-gigabyte payload comes first; the daemon reports nothing meanwhile. */
const READY_LIMIT_MS = 120_000
/** How often an arriving payload is checked for whole pieces (at 25 Mbit/s a 256 KiB piece takes 84 ms). */
const ARRIVAL_CHECK_MS = 50

export interface SeedOptions {
  state: string
  tag: string
  torrent: string
  payload: string
  announceIp: string
  port: number
  /** The payload is still being written (deploy_via murder uploads it as the swarm starts). */
  isArriving: boolean
}

/**
 * Starts the seeder daemon; one already seeding this tag with these options is left be
 * (`wasRunning`): create_torrent refuses to change a tag being seeded, so it seeds this torrent.
 */
export async function startSeeding(options: SeedOptions): Promise<Extract<AgentEvent, { type: 'started' }>> {
  const meta = await readTorrentMeta(options.torrent)
  const args = daemonArguments(options)
  const twin = await runningTwin(options.state, 'seed', options.tag, args, `a seeder for ${options.tag}`)
  if (twin) return { type: 'started', kind: 'seed', pid: twin.pid, tag: options.tag, infoHash: meta.infoHash, wasRunning: true }
  return startDaemonAndWait({ state: options.state, kind: 'seed', tag: options.tag, args }, READY_LIMIT_MS)
}

/**
 * `seed --hold`: the command is the seeder (foreground-daemon.ts), `started` once announced; the
 * controller's `stop` on stdin ends it and removes the payload and torrent, with no `stop` process.
 */
export async function runHeldSeeder(options: SeedOptions, orphanIdleS: number, print: (event: AgentEvent) => void): Promise<number> {
  await checkCanSeed(options)
  return runForegroundDaemon(
    {
      state: options.state,
      kind: 'seed',
      tag: options.tag,
      daemonArgs: daemonArguments(options),
      readyOn: 'started',
      isTransfer: true,
      body: (runtime) => runSeedDaemon(runtime, options),
      removeOnStop: [options.payload, options.torrent],
      payload: options.payload,
      readyLimitMs: READY_LIMIT_MS,
      orphan: { limitMs: orphanIdleS * 1000, idleMeans: 'no peer took a byte' },
    },
    print
  )
}

async function checkCanSeed(options: SeedOptions): Promise<void> {
  await readTorrentMeta(options.torrent)
  await ensureNotRunning(options.state, 'seed', options.tag, `a seeder for ${options.tag}`)
}

function daemonArguments(options: SeedOptions): string[] {
  const args = ['--state', options.state, '--tag', options.tag, '--torrent', options.torrent, '--payload', options.payload, '--announce-ip', options.announceIp, '--port', String(options.port)]
  if (options.isArriving) args.push('--arriving')
  return args
}

export async function runSeedDaemon(runtime: DaemonRuntime, options: SeedOptions): Promise<void> {
  const meta = await readTorrentMeta(options.torrent)
  const arriving = options.isArriving ? new ArrivingPayload({ path: options.payload, ...meta }) : undefined
  if (arriving) checkPayloadName(options.payload, meta)
  else await checkPayload(options.payload, meta)
  runtime.log(`seeding ${options.payload} (${meta.sizeBytes} bytes, ${meta.pieces} pieces, info hash ${meta.infoHash}) as ${options.announceIp}${arriving ? ', as it arrives' : ''}`)
  const { joinSwarm } = await loadSwarmClient()
  const session = joinSwarm(meta.file, dirname(options.payload), {
    role: 'seed',
    announceIp: options.announceIp,
    port: options.port,
    log: (message) => runtime.log(message),
    ...(arriving ? { holds: (piece: number) => arriving.has(piece) } : {}),
  })
  const stopWatching = arriving ? watchArrival(arriving, session, runtime) : () => {}
  const saveStats = statsWriter(runtime.files.stats, () => collectStats(session, 'seed', options.tag, meta))
  runtime.activity = () => session.torrent.uploaded
  const timer = setInterval(() => void saveStats().catch((error: unknown) => runtime.log(`cannot write stats: ${String(error)}`)), STATS_INTERVAL_MS)
  runtime.onStop(async () => {
    clearInterval(timer)
    stopWatching()
    await saveStats()
    await session.destroy()
  })
  session.client.on('error', (error: Error) => void runtime.fail(`seeding ${options.tag} failed: ${error.message}`))
  session.torrent.on('warning', (error: Error) => runtime.log(`warning: ${error.message}`))
  await new Promise<void>((resolve) => session.torrent.once('ready', () => resolve()))
  try {
    await waitForFirstAnnounce(session.torrent, meta.announce)
  } catch (error) {
    return runtime.fail((error as Error).message)
  }
  await saveStats()
  runtime.log(`announced on ${meta.announce}, listening on port ${session.client.torrentPort}`)
  runtime.emit({ type: 'started', kind: 'seed', pid: process.pid, tag: options.tag, port: session.client.torrentPort, infoHash: meta.infoHash })
}

/** Checks the arriving payload every ARRIVAL_CHECK_MS until every piece is in; returns a stop function. */
function watchArrival(arriving: ArrivingPayload, session: SwarmSession, runtime: DaemonRuntime): () => void {
  let isChecking = false
  const timer = setInterval(() => {
    if (isChecking) return
    isChecking = true
    arriving
      .check()
      .then((pieces) => {
        if (pieces.length > 0 || arriving.isComplete) session.piecesArrived(arriving.isComplete)
        if (!arriving.isComplete) return
        clearInterval(timer)
        runtime.log(`payload complete: all ${arriving.pieceCount} pieces arrived and match the torrent`)
      })
      .catch((error: unknown) => void runtime.fail(`cannot read the arriving payload: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        isChecking = false
      })
  }, ARRIVAL_CHECK_MS)
  return () => clearInterval(timer)
}

function checkPayloadName(payload: string, meta: TorrentMeta): void {
  if (basename(payload) !== meta.name) {
    throw new AgentError(`payload ${payload} must be named ${meta.name} like in its torrent; use TEMP/TAG.tgz on every host.`)
  }
}

async function checkPayload(payload: string, meta: TorrentMeta): Promise<void> {
  checkPayloadName(payload, meta)
  const info = await stat(payload).catch(() => undefined)
  if (!info?.isFile()) throw new AgentError(`payload ${payload} does not exist on this host; run murder:create_torrent first.`)
  if (info.size !== meta.sizeBytes) throw new AgentError(`payload ${payload} is ${info.size} bytes but its torrent says ${meta.sizeBytes}; run murder:create_torrent again.`)
  const sha256 = await sha256File(payload)
  if (sha256 !== meta.sha256) throw new AgentError(`payload ${payload} has sha256 ${sha256} but its torrent says ${meta.sha256}; run murder:create_torrent again.`)
}
