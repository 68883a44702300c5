// The .torrent that make-torrent writes: a private, single-file torrent announcing to one tracker,
// carrying the payload's SHA-256 in its comment so every peer can check the whole file. Pure.
import { createHash } from 'node:crypto'

export type BencodeValue = number | string | Uint8Array | BencodeValue[] | { [key: string]: BencodeValue }

const KIB = 1024
export const MIN_PIECE_LENGTH_BYTES = 16 * KIB
export const MAX_PIECE_LENGTH_BYTES = 4 * KIB * KIB
/**
 * Fewer pieces mean less work per byte (HAVEs to every peer, rarest-first planning); smaller ones
 * can be passed on sooner, since a piece is shared only once it is whole and verified. 50 MiB on
 * the farm: 16 hosts at 25 Mbit (link-bound, as on a real fleet) took 35.8 s in 256 KiB pieces
 * and 42.4 s in 1 MiB pieces; 32 hosts at 100 Mbit (bound by this machine's 2 cores) 32 s and 28 s.
 */
export const TARGET_MAX_PIECES = 256

const SHA256_COMMENT = /^murder-sha256:([0-9a-f]{64})$/

/**
 * The smallest power of two in 16 KiB..4 MiB that keeps the piece count at or under 256. The floor
 * was 256 KiB, which cut a 4 MiB payload into 16 pieces: at 1 Mbit/s a piece shared among a peer's
 * dozen connections took 20-30 s to complete anywhere, and 16 hosts took 100 s (3× S/B); in 256
 * pieces of 16 KiB, 71-73 s, and 60 s once the seeder's window counted bytes (super-seed.ts); 48
 * hosts 312 s, then 80 s. Payloads over 32 MiB keep the pieces they had.
 */
export function choosePieceLength(sizeBytes: number): number {
  let length = MIN_PIECE_LENGTH_BYTES
  while (length < MAX_PIECE_LENGTH_BYTES && Math.ceil(sizeBytes / length) > TARGET_MAX_PIECES) length *= 2
  return length
}

export function formatSha256Comment(sha256: string): string {
  return `murder-sha256:${sha256}`
}

export function parseSha256Comment(comment: string | undefined): string | undefined {
  return comment === undefined ? undefined : SHA256_COMMENT.exec(comment)?.[1]
}

export interface TorrentSpec {
  name: string
  announce: string
  sha256: string
  sizeBytes: number
  pieceLengthBytes: number
  /** SHA-1 of each piece, concatenated (20 bytes per piece). */
  pieceHashes: Uint8Array
  createdAtMs: number
  createdBy: string
}

export function buildTorrent(spec: TorrentSpec): { torrent: Uint8Array; infoHash: string } {
  const info: BencodeValue = {
    length: spec.sizeBytes,
    name: spec.name,
    'piece length': spec.pieceLengthBytes,
    pieces: spec.pieceHashes,
    private: 1,
  }
  const infoHash = createHash('sha1').update(bencode(info)).digest('hex')
  const torrent = bencode({
    announce: spec.announce,
    'announce-list': [[spec.announce]],
    comment: formatSha256Comment(spec.sha256),
    'created by': spec.createdBy,
    'creation date': Math.floor(spec.createdAtMs / 1000),
    info,
  })
  return { torrent, infoHash }
}

/** Canonical bencoding (BEP 3): integers, byte strings, lists, and dictionaries with keys sorted as raw bytes. */
export function bencode(value: BencodeValue): Uint8Array {
  const chunks: Uint8Array[] = []
  encodeInto(value, chunks)
  return Buffer.concat(chunks)
}

function encodeInto(value: BencodeValue, chunks: Uint8Array[]): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`bencode: ${value} is not an integer`)
    chunks.push(Buffer.from(`i${value}e`))
  } else if (typeof value === 'string') {
    encodeBytes(Buffer.from(value, 'utf8'), chunks)
  } else if (value instanceof Uint8Array) {
    encodeBytes(value, chunks)
  } else if (Array.isArray(value)) {
    chunks.push(Buffer.from('l'))
    for (const item of value) encodeInto(item, chunks)
    chunks.push(Buffer.from('e'))
  } else {
    chunks.push(Buffer.from('d'))
    const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    for (const key of keys) {
      const item = value[key]
      if (item === undefined) continue
      encodeBytes(Buffer.from(key, 'utf8'), chunks)
      encodeInto(item, chunks)
    }
    chunks.push(Buffer.from('e'))
  }
}

function encodeBytes(bytes: Uint8Array, chunks: Uint8Array[]): void {
  chunks.push(Buffer.from(`${bytes.length}:`), bytes)
}
