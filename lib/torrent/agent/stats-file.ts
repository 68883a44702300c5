import { rename, writeFile } from 'node:fs/promises'
import type { SwarmStats } from '../protocol.ts'
import type { SwarmSession } from './swarm-client.ts'
import type { TorrentMeta } from './torrent-meta.ts'

export function collectStats(session: SwarmSession, kind: SwarmStats['kind'], tag: string, meta: TorrentMeta): SwarmStats {
  const totals = session.ledger.totals()
  return {
    kind,
    tag,
    infoHash: meta.infoHash,
    pid: process.pid,
    updatedAt: new Date().toISOString(),
    totalBytes: meta.sizeBytes,
    downloadedBytes: session.torrent.downloaded,
    uploadedBytes: totals.uploadedBytes,
    fromSeederBytes: totals.fromSeederBytes,
    fromPeersBytes: totals.fromPeersBytes,
    wires: totals.wires,
    duplicateWiresClosed: session.counters.duplicateWiresClosed,
    selfDialsRefused: session.counters.selfDialsRefused(),
    peersBanned: session.counters.peersBanned(),
    peers: session.ledger.list(),
  }
}

/**
 * A daemon's stats writer: writes never overlap and land in order. On a busy host a write can
 * outlast the interval between two; overlapping ones shared the temporary file and the second's
 * rename failed ("cannot write stats: ENOENT"). A write asked for while one runs waits for it and
 * then writes the counters of that moment; asks meanwhile share it.
 */
export function statsWriter(path: string, collect: () => SwarmStats): () => Promise<void> {
  let running: Promise<void> = Promise.resolve()
  let next: Promise<void> | undefined
  return () => {
    next ??= running
      .catch(() => {})
      .then(() => {
        next = undefined
        running = writeStats(path, collect())
        return running
      })
    return next
  }
}

/** Written whole and renamed, so `status` and the controller never read half a file. */
async function writeStats(path: string, stats: SwarmStats): Promise<void> {
  const partial = `${path}.partial`
  await writeFile(partial, `${JSON.stringify(stats)}\n`)
  await rename(partial, path)
}
