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
    peers: session.ledger.list(),
  }
}

/** Written whole and renamed, so `status` and the controller never read half a file. */
export async function writeStats(path: string, stats: SwarmStats): Promise<void> {
  const partial = `${path}.partial`
  await writeFile(partial, `${JSON.stringify(stats)}\n`)
  await rename(partial, path)
}
