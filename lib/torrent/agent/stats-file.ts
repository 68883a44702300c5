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

let writes = 0

/**
 * Written whole and renamed, so `status` and the controller never read half a file. Each write has
 * its own temporary file: on a busy host a write can outlast the interval between two, and a
 * shared one was renamed away under the second ("cannot write stats: ENOENT").
 */
export async function writeStats(path: string, stats: SwarmStats): Promise<void> {
  const partial = `${path}.${++writes}.partial`
  await writeFile(partial, `${JSON.stringify(stats)}\n`)
  await rename(partial, path)
}
