// `seed`: a daemon that seeds the payload until stopped. It checks the payload's SHA-256 against
// the torrent first, so webtorrent may skip hashing every piece again.
import { stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { AgentEvent } from '../protocol.ts'
import { ensureNotRunning, startDaemonAndWait, type DaemonRuntime } from './daemon.ts'
import { AgentError } from './errors.ts'
import { sha256File } from './payload-hash.ts'
import { collectStats, statsWriter } from './stats-file.ts'
import { loadSwarmClient } from './lazy-modules.ts'
import { readTorrentMeta, type TorrentMeta } from './torrent-meta.ts'
import { waitForFirstAnnounce } from './tracker-watch.ts'

const STATS_INTERVAL_MS = 1000
/** Hashing a multi-gigabyte payload comes first; the daemon reports nothing meanwhile. */
const READY_LIMIT_MS = 120_000

export interface SeedOptions {
  state: string
  tag: string
  torrent: string
  payload: string
  announceIp: string
  port: number
}

export async function startSeeding(options: SeedOptions): Promise<Extract<AgentEvent, { type: 'started' }>> {
  await readTorrentMeta(options.torrent)
  await ensureNotRunning(options.state, 'seed', options.tag, `a seeder for ${options.tag}`)
  const args = ['--state', options.state, '--tag', options.tag, '--torrent', options.torrent, '--payload', options.payload, '--announce-ip', options.announceIp, '--port', String(options.port)]
  return startDaemonAndWait({ state: options.state, kind: 'seed', tag: options.tag, args }, READY_LIMIT_MS)
}

export async function runSeedDaemon(runtime: DaemonRuntime, options: SeedOptions): Promise<void> {
  const meta = await readTorrentMeta(options.torrent)
  await checkPayload(options.payload, meta)
  runtime.log(`seeding ${options.payload} (${meta.sizeBytes} bytes, ${meta.pieces} pieces, info hash ${meta.infoHash}) as ${options.announceIp}`)
  const { joinSwarm } = await loadSwarmClient()
  const session = joinSwarm(meta.file, dirname(options.payload), { role: 'seed', announceIp: options.announceIp, port: options.port, log: (message) => runtime.log(message) })
  const saveStats = statsWriter(runtime.files.stats, () => collectStats(session, 'seed', options.tag, meta))
  const timer = setInterval(() => void saveStats().catch((error: unknown) => runtime.log(`cannot write stats: ${String(error)}`)), STATS_INTERVAL_MS)
  runtime.onStop(async () => {
    clearInterval(timer)
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

async function checkPayload(payload: string, meta: TorrentMeta): Promise<void> {
  if (basename(payload) !== meta.name) {
    throw new AgentError(`payload ${payload} must be named ${meta.name} like in its torrent; use TEMP/TAG.tgz on every host.`)
  }
  const info = await stat(payload).catch(() => undefined)
  if (!info?.isFile()) throw new AgentError(`payload ${payload} does not exist on this host; run murder:create_torrent first.`)
  if (info.size !== meta.sizeBytes) throw new AgentError(`payload ${payload} is ${info.size} bytes but its torrent says ${meta.sizeBytes}; run murder:create_torrent again.`)
  const sha256 = await sha256File(payload)
  if (sha256 !== meta.sha256) throw new AgentError(`payload ${payload} has sha256 ${sha256} but its torrent says ${meta.sha256}; run murder:create_torrent again.`)
}
