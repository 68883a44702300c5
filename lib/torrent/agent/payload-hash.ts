import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'

const READ_CHUNK_BYTES = 1024 * 1024

export interface PayloadDigest {
  sha256: string
  sizeBytes: number
  /** SHA-1 of each piece, concatenated. */
  pieceHashes: Uint8Array
}

/** Reads the payload once for both the whole-file SHA-256 and the per-piece SHA-1s of the torrent. */
export async function digestPayload(path: string, pieceLengthBytes: number): Promise<PayloadDigest> {
  const whole = createHash('sha256')
  const pieces: Buffer[] = []
  let piece: Hash = createHash('sha1')
  let inPiece = 0
  let sizeBytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    whole.update(chunk)
    sizeBytes += chunk.length
    let offset = 0
    while (offset < chunk.length) {
      const take = Math.min(pieceLengthBytes - inPiece, chunk.length - offset)
      piece.update(chunk.subarray(offset, offset + take))
      inPiece += take
      offset += take
      if (inPiece === pieceLengthBytes) {
        pieces.push(piece.digest())
        piece = createHash('sha1')
        inPiece = 0
      }
    }
  }
  if (inPiece > 0) pieces.push(piece.digest())
  return { sha256: whole.digest('hex'), sizeBytes, pieceHashes: Buffer.concat(pieces) }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) hash.update(chunk)
  return hash.digest('hex')
}
