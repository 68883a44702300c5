// `peer`: a daemon downloads the payload through the swarm, checks its SHA-256, seeds on for
// --seed-seconds and leaves; the foreground command relays the daemon's events until `done` or
// `failed`. Re-running while the daemon of that tag is alive attaches to it instead of starting a
// second one; `peer --follow` only attaches, never starts one. The payload path doubles as
// webtorrent's store, so a re-run after a crash verifies the pieces on disk and fetches the rest.
import { constants } from 'node:fs'
import { lstat, mkdir, open, readFile, rm } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { parseEvent, type AgentEvent, type TransferCounters } from '../protocol.ts'
import { followEvents } from './follow-events.ts'
import { hasArguments, launchDaemon, lastLogLine, describeLostDaemon, type DaemonRuntime } from './daemon.ts'
import { AgentError } from './errors.ts'
import { holdUntilStopped } from './hold.ts'
import { watchIdle } from './idle-watch.ts'
import { sha256File } from './payload-hash.ts'
import { readPidFile, removePidFile, stopDaemon, waitForExit, type PidFile } from './processes.ts'
import { collectStats, statsWriter } from './stats-file.ts'
import { processFiles, type PidRecord } from './state-files.ts'
import { loadSwarmClient } from './lazy-modules.ts'
import type { SwarmSession } from './swarm-client.ts'
import { readTorrentMeta, type TorrentMeta } from './torrent-meta.ts'
import { waitForFirstAnnounce } from './tracker-watch.ts'

const PROGRESS_INTERVAL_MS = 500
/**
 * Counters for `status` are rewritten every 4th progress tick: each write is an open, a write and
 * a rename, which on 32 busy farm hosts cost a peer 3% of its CPU at every tick.
 */
const TICKS_PER_STATS_WRITE = 4
/** The daemon reports every 500 ms, even while it verifies a payload left by an earlier run. */
const SILENCE_LIMIT_MS = 30_000
/** A failing daemon closes its connections and tells the tracker it stopped: about a second. */
const DAEMON_EXIT_LIMIT_MS = 6000

export interface PeerOptions {
  state: string
  tag: string
  torrent: string
  payload: string
  announceIp: string
  seederIp: string
  seedSeconds: number
  timeoutS: number
  /** Give up once no byte has arrived for this long, before done; 0: never. */
  stallS: number
  port: number
}

/**
 * Runs (or attaches to) the peer daemon and relays its events (`started` once it runs, then
 * `progress`) until `done`; throws on `failed`.
 * `isFollowOnly`: attach to the daemon `peer --detach` started, or report how it ended; never start
 * one (a daemon stopped on purpose must not come back because its follower started late).
 * `isHolding`: after `done`, stay until stdin asks for the stop (hold.ts).
 */
export async function runPeer(options: PeerOptions, onEvent: (event: AgentEvent) => void, isFollowOnly = false, isHolding = false): Promise<void> {
  const files = processFiles(options.state, 'peer', options.tag)
  const record = isFollowOnly ? matchingDaemon(await readPidFile(options.state, 'peer', options.tag), options) : (await launchPeer(options)).record
  if (!record) {
    // Its daemon already ended (a short --seed-seconds): a held follower still serves its requests.
    await relayEnding(files.events, options.tag, onEvent)
    return isHolding ? holdUntilStopped(options, onEvent) : undefined
  }
  // From here a `stop` of this tag finds the daemon: a controller giving up on the download waits for this.
  onEvent({ type: 'started', kind: 'peer', pid: record.pid, tag: options.tag })
  let outcome: AgentEvent | undefined
  const end = await followEvents(files.events, {
    record,
    silenceLimitMs: SILENCE_LIMIT_MS,
    onEvent: (event) => {
      if (event.type === 'done' || event.type === 'failed') outcome = event
      else if (event.type !== 'progress') return false
      onEvent(event)
      return outcome !== undefined
    },
  })
  if (outcome?.type === 'done') return isHolding ? holdUntilStopped(options, onEvent) : undefined
  if (outcome?.type === 'failed') {
    // Return only once the daemon is gone, so that a failed `peer` leaves nothing behind.
    if (!(await waitForExit(record, DAEMON_EXIT_LIMIT_MS))) await stopDaemon({ path: files.pid, ref: record, record, isRunning: true })
    await removePidFile(files.pid, record.pid)
    throw new AgentError(outcome.message)
  }
  if (end === 'silent') await stopDaemon({ path: files.pid, ref: record, record, isRunning: true })
  await removePidFile(files.pid, record.pid)
  throw new AgentError(describeLostDaemon('peer', end, SILENCE_LIMIT_MS, await lastLogLine(files.log), files.log))
}

/** Starts the peer daemon, or finds it running with the same arguments; returns at once. */
/** Starts the peer daemon, or finds the one of this transfer already running (`wasRunning`: an earlier run's, seeding on). */
export async function launchPeer(options: PeerOptions): Promise<{ record: PidRecord; wasRunning: boolean }> {
  const meta = await checkTorrent(options)
  return attachOrLaunch(options, meta.infoHash)
}

/** The torrent can be read and names the payload: checked before anything starts. */
export async function checkTorrent(options: PeerOptions): Promise<TorrentMeta> {
  const meta = await readTorrentMeta(options.torrent)
  checkPayloadName(options.payload, meta)
  return meta
}

async function attachOrLaunch(options: PeerOptions, infoHash: string): Promise<{ record: PidRecord; wasRunning: boolean }> {
  const existing = await withoutStalePeer(await readPidFile(options.state, 'peer', options.tag), infoHash)
  const running = matchingDaemon(existing, options)
  if (running) return { record: running, wasRunning: true }
  if (existing) await removePidFile(existing.path, existing.record?.pid)
  return { record: await launchDaemon({ state: options.state, kind: 'peer', tag: options.tag, args: daemonArguments(options), infoHash }), wasRunning: false }
}

/**
 * A peer of this tag still seeding on from an earlier run, of another torrent (the tag packed again
 * since), or of one not recorded: joining it could hand this run its old payload. It is stopped,
 * and the pid file dropped.
 */
export async function withoutStalePeer(existing: PidFile | undefined, infoHash: string): Promise<PidFile | undefined> {
  // An older agent's peer records no info hash: which torrent it serves is not known, so it goes too.
  if (!existing?.isRunning || existing.record?.infoHash === infoHash) return existing
  await stopDaemon(existing)
  return undefined
}

/** The peer daemon's own arguments; a running daemon whose command line ends with them is this one. */
export function daemonArguments(options: PeerOptions): string[] {
  return [
    ...['--state', options.state, '--tag', options.tag, '--torrent', options.torrent, '--payload', options.payload],
    ...['--announce-ip', options.announceIp, '--seeder-ip', options.seederIp, '--port', String(options.port)],
    ...['--seed-seconds', String(options.seedSeconds), '--timeout-s', String(options.timeoutS)],
    // Only when set: a daemon an older controller started, without it, is still this one.
    ...(options.stallS > 0 ? ['--stall-s', String(options.stallS)] : []),
  ]
}

/** The daemon of this pid file if it runs with these options; one running with others is an error. */
export function matchingDaemon(existing: PidFile | undefined, options: PeerOptions): PidRecord | undefined {
  if (!existing?.isRunning || !existing.record) return undefined
  if (hasArguments(existing.record, daemonArguments(options))) return existing.record
  throw new AgentError(`a peer for ${options.tag} with other arguments is running (pid ${existing.record.pid}); stop it first (murder:stop_peering).`)
}

/** No daemon to follow: the last one's events file says whether it finished (a stopped daemon wrote `failed`). */
async function relayEnding(eventsPath: string, tag: string, onEvent: (event: AgentEvent) => void): Promise<void> {
  const text = await readFile(eventsPath, 'utf8').catch(() => '')
  let ending: AgentEvent | undefined
  for (const line of text.split('\n')) {
    const event = parseEvent(line)
    if (event?.type === 'done' || event?.type === 'failed') ending = event
  }
  if (ending?.type === 'failed') throw new AgentError(ending.message)
  if (!ending) throw new AgentError(`no peer daemon of ${tag} is running or has finished; start one with \`peer\` (without --follow).`)
  onEvent(ending)
}

export async function runPeerDaemon(runtime: DaemonRuntime, options: PeerOptions): Promise<void> {
  const startedAt = Date.now()
  const meta = await checkTorrent(options)
  await preparePayload(options.payload, meta)
  runtime.log(`downloading ${meta.name} (${meta.sizeBytes} bytes, ${meta.pieces} pieces) to ${options.payload} as ${options.announceIp}`)
  const { joinSwarm } = await loadSwarmClient()
  const session = joinSwarm(meta.file, dirname(options.payload), {
    role: 'peer',
    announceIp: options.announceIp,
    seederIp: options.seederIp,
    port: options.port,
    log: (message) => runtime.log(message),
  })
  // After the last piece a tracker or timeout failure no longer matters: the file is here.
  let phase: 'downloading' | 'verifying' | 'done' = 'downloading'
  const saveStats = statsWriter(runtime.files.stats, () => collectStats(session, 'peer', options.tag, meta))
  let tick = 0
  const ticker = setInterval(() => {
    if (phase !== 'done') runtime.emit({ type: 'progress', ...counters(session, meta) })
    if (++tick % TICKS_PER_STATS_WRITE === 0) void saveStats().catch((error: unknown) => runtime.log(`cannot write stats: ${String(error)}`))
  }, PROGRESS_INTERVAL_MS)
  // A peer stranded by a swarm that died (its seeder stopped by a failed deploy, its controller
  // killed or cut off) would otherwise wait for ever; nothing else will use its partial payload.
  // Stopped at `done` (below) and on the way out: it fires only while downloading.
  const stall = options.stallS > 0 ? watchIdle(() => session.torrent.received, options.stallS * 1000, () => {
    const removed = Promise.all([options.payload, options.torrent].map((path) => rm(path, { force: true })))
    void removed.finally(() => failUnlessDone(`download of ${options.tag} gave up: no byte arrived for ${options.stallS} s (its seeder gone, or this host cut off from the swarm); its partial payload was removed.`))
  }) : undefined
  runtime.onStop(async () => {
    clearInterval(ticker)
    stall?.stop()
    await saveStats()
    await session.destroy()
  })
  const failUnlessDone = (message: string) => {
    if (phase === 'downloading') void runtime.fail(message)
  }
  session.client.on('error', (error: Error) => failUnlessDone(`download of ${options.tag} failed: ${error.message}`))
  session.torrent.on('warning', (error: Error) => runtime.log(`warning: ${error.message}`))
  if (options.timeoutS > 0) {
    setTimeout(() => {
      const got = session.torrent.downloaded
      failUnlessDone(`download of ${options.tag} not finished after ${options.timeoutS} s (${got} of ${meta.sizeBytes} bytes); raise peer_timeout or check the swarm.`)
    }, options.timeoutS * 1000).unref()
  }
  session.torrent.once('ready', () => {
    // A first report before any tick: on a fast link the whole download can end inside 500 ms.
    runtime.emit({ type: 'progress', ...counters(session, meta) })
    waitForFirstAnnounce(session.torrent, meta.announce).then(
      () => runtime.log(`announced on ${meta.announce}, listening on port ${session.client.torrentPort}`),
      (error: Error) => failUnlessDone(error.message)
    )
  })
  session.torrent.once('done', () => {
    stall?.stop()
    phase = 'verifying'
    void (async () => {
      const sha256 = await sha256File(options.payload)
      if (sha256 !== meta.sha256) {
        return runtime.fail(`sha256 mismatch for ${options.payload}: got ${sha256}, the torrent says ${meta.sha256}; run murder:create_torrent again.`)
      }
      phase = 'done'
      // Before `done`: from then on the stats file shows the whole download, not from the next 2 s tick.
      await saveStats().catch((error: unknown) => runtime.log(`cannot write stats: ${String(error)}`))
      runtime.emit({ type: 'done', ...counters(session, meta), downRateBps: 0, elapsedMs: Date.now() - startedAt, sha256 })
      runtime.log(`done in ${Date.now() - startedAt} ms; seeding on for ${options.seedSeconds} s`)
      setTimeout(() => void runtime.exit(0, `seeded ${options.seedSeconds} s after done`), options.seedSeconds * 1000)
    })()
  })
}

function counters(session: SwarmSession, meta: TorrentMeta): TransferCounters {
  const totals = session.ledger.totals()
  return {
    downloadedBytes: Math.min(session.torrent.downloaded, meta.sizeBytes),
    totalBytes: meta.sizeBytes,
    uploadedBytes: totals.uploadedBytes,
    fromSeederBytes: totals.fromSeederBytes,
    fromPeersBytes: totals.fromPeersBytes,
    downRateBps: Math.round(session.torrent.downloadSpeed),
    upRateBps: Math.round(session.torrent.uploadSpeed),
    wires: totals.wires,
  }
}

function checkPayloadName(payload: string, meta: TorrentMeta): void {
  if (basename(payload) !== meta.name) {
    throw new AgentError(`payload ${payload} must be named ${meta.name} like in its torrent; use TEMP/TAG.tgz on every host.`)
  }
}

/**
 * A longer file left by another transfer would fail the whole-file SHA-256: cut it to size. The
 * payload (a release, with whatever secrets it holds) is the SSH user's alone, 0600, on a host
 * other users share: in a shared temp_path (/tmp) another user may have put a link or a file of
 * their own at its predictable name first, to have the release written through it or into it.
 * Neither is followed or written; the file is opened without following a link and must be ours.
 */
export async function preparePayload(payload: string, meta: TorrentMeta): Promise<void> {
  await mkdir(dirname(payload), { recursive: true })
  const info = await lstat(payload).catch(() => undefined)
  if (info?.isSymbolicLink()) throw new AgentError(`payload path ${payload} is a symbolic link; it is not followed: remove it, or use a temp_path only the SSH user can write.`)
  if (info && !info.isFile()) throw new AgentError(`payload path ${payload} exists and is not a file; remove it or use another temp_path.`)
  // Non-blocking: a FIFO slipped in after the lstat must not hang the open (it fails the checks below).
  const handle = await open(payload, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600).catch((error: NodeJS.ErrnoException) => {
    throw new AgentError(`cannot open the payload ${payload}: ${error.message}; remove it, or use a temp_path only the SSH user can write.`)
  })
  try {
    const opened = await handle.stat()
    const uid = process.getuid?.()
    if (uid !== undefined && opened.uid !== uid) throw new AgentError(`payload path ${payload} belongs to another user (uid ${opened.uid}); the release is not written into it: remove it, or use a temp_path only the SSH user can write.`)
    // A hard link another user made to one of our files would have that file overwritten.
    if (!opened.isFile() || opened.nlink !== 1) throw new AgentError(`payload path ${payload} is not a file of its own (${opened.isFile() ? `${opened.nlink} hard links` : 'not a regular file'}); remove it, or use a temp_path only the SSH user can write.`)
    if (opened.size > meta.sizeBytes) await handle.truncate(meta.sizeBytes)
    await handle.chmod(0o600)
  } finally {
    await handle.close()
  }
}
