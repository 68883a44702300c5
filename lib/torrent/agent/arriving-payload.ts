// A payload the seeder serves while it is still being uploaded to it (deploy_via murder streams the
// release to the seeder as the swarm starts). A piece counts as arrived once the bytes on disk
// match its SHA-1 from the torrent: an SFTP upload writes several chunks at once, out of order, so
// neither the file's size nor its mtime says which ranges are whole, but the hash does.
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'

const HASH_BYTES = 20

export interface ArrivingPayloadSpec {
  path: string
  sizeBytes: number
  pieceLengthBytes: number
  /** SHA-1 of each piece, concatenated. */
  pieceHashes: Uint8Array
}

export class ArrivingPayload {
  readonly pieceCount: number
  /** Pieces arrive front to back (a check stops at the first that does not match): those below this. */
  private arrivedCount = 0
  private readonly buffer: Buffer

  constructor(private readonly spec: ArrivingPayloadSpec) {
    this.pieceCount = spec.pieceHashes.length / HASH_BYTES
    this.buffer = Buffer.alloc(Math.min(spec.pieceLengthBytes, Math.max(spec.sizeBytes, 1)))
  }

  has(piece: number): boolean {
    return piece < this.arrivedCount
  }

  get isComplete(): boolean {
    return this.arrivedCount === this.pieceCount
  }

  /**
   * Checks the pieces the file now covers, front to back, and returns those that newly arrived.
   * It stops at the first piece whose hash does not match yet (a range still being written), so a
   * check hashes at most one piece in vain.
   */
  async check(): Promise<number[]> {
    if (this.isComplete) return []
    const file = await open(this.spec.path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    })
    if (!file) return []
    const found: number[] = []
    try {
      const { size } = await file.stat()
      for (let piece = this.arrivedCount; piece < this.pieceCount; piece++) {
        const start = piece * this.spec.pieceLengthBytes
        const length = Math.min(this.spec.pieceLengthBytes, this.spec.sizeBytes - start)
        if (start + length > size) break
        const { bytesRead } = await file.read(this.buffer, 0, length, start)
        if (bytesRead !== length || !this.matches(piece, this.buffer.subarray(0, length))) break
        this.arrivedCount += 1
        found.push(piece)
      }
    } finally {
      await file.close()
    }
    return found
  }

  private matches(piece: number, bytes: Uint8Array): boolean {
    const expected = this.spec.pieceHashes.subarray(piece * HASH_BYTES, (piece + 1) * HASH_BYTES)
    return createHash('sha1').update(bytes).digest().equals(expected)
  }
}
