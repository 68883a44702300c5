// A torrent in make-torrent's format, of an in-memory payload: 600 KiB in three 256 KiB pieces,
// every byte `fill`.
import { createHash } from 'node:crypto'
import { buildTorrent } from '../../lib/torrent/agent/torrent-file.ts'

const KIB = 1024
export const SAMPLE_PIECE_BYTES = 256 * KIB
export const SAMPLE_PAYLOAD_BYTES = 600 * KIB
export const SAMPLE_ANNOUNCE = 'http://10.0.0.1:8998/announce'

export function sampleTorrent(name: string, fill: number, announce = SAMPLE_ANNOUNCE): { torrent: Uint8Array; infoHash: string; pieceHashes: Buffer[]; sha256: string } {
  const payload = Buffer.alloc(SAMPLE_PAYLOAD_BYTES, fill)
  const pieceHashes = [0, 1, 2].map((index) => createHash('sha1').update(payload.subarray(index * SAMPLE_PIECE_BYTES, (index + 1) * SAMPLE_PIECE_BYTES)).digest())
  const sha256 = createHash('sha256').update(payload).digest('hex')
  const { torrent, infoHash } = buildTorrent({
    name,
    announce,
    sha256,
    sizeBytes: payload.length,
    pieceLengthBytes: SAMPLE_PIECE_BYTES,
    pieceHashes: Buffer.concat(pieceHashes),
    createdAtMs: 1_700_000_000_000,
    createdBy: 'murder-agent/test',
  })
  return { torrent, infoHash, pieceHashes, sha256 }
}
