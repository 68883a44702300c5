// Feeds a downloading torrent's hash results to PieceTrust and drops the peers it bans: their
// connections close, the addresses they were dialed at are never dialed again, and any later
// connection from the same peer id closes at once.
import Piece from 'torrent-piece'
import type { Torrent, Wire } from 'webtorrent'
import { PieceTrust } from './piece-trust.ts'

/** webtorrent's only report of a piece that failed its hash (torrent.js, `_request`). */
export const FAILED_PIECE = /^Piece (\d+) failed verification$/

export interface BadPieceGuardOptions {
  /** Wires whose data is trusted whatever happens (the run's own seeder). */
  isExempt(wire: Wire): boolean
  /** Called once per peer banned, with one of its wires and how many failed pieces it sent blocks of. */
  onBan(wire: Wire, failedPieces: number): void
  /** An address a banned peer was dialed at: never dial it again. */
  refuseDialing(address: string): void
}

/** Returns how many peers were banned so far. */
export function guardAgainstBadPieces(torrent: Torrent, options: BadPieceGuardOptions): () => number {
  keepSendersOfFlushedPieces()
  const exempt = new Set<string>()
  const trust = new PieceTrust<string>((peerId) => exempt.has(peerId))
  /** The piece object of each index being fetched: webtorrent drops it (pass) or replaces it (fail). */
  const inFlight = new Map<number, SourcedPiece>()
  const dialedAt = new Map<string, Set<string>>()
  let bannedCount = 0

  const senders = (index: number): string[] => {
    const piece = inFlight.get(index)
    inFlight.delete(index)
    return (piece?.flushedSources ?? []).flatMap((wire) => (wire.peerId === null ? [] : [wire.peerId]))
  }
  const refuse = (peerId: string) => {
    for (const address of dialedAt.get(peerId) ?? []) options.refuseDialing(address)
  }

  torrent.on('wire', (wire: Wire) => {
    const peerId = wire.peerId
    if (peerId === null) return
    if (wire.type === 'tcpOutgoing' && wire.remoteAddress !== undefined) {
      const addresses = dialedAt.get(peerId) ?? new Set()
      addresses.add(`${wire.remoteAddress}:${wire.remotePort ?? 0}`)
      dialedAt.set(peerId, addresses)
    }
    if (trust.isBanned(peerId)) {
      refuse(peerId)
      // After webtorrent's own setup of this wire (queued as a microtask) has run.
      setImmediate(() => wire.destroy())
      return
    }
    if (options.isExempt(wire)) exempt.add(peerId)
    wire.on('piece', (index: number) => {
      const piece = torrent.pieces[index]
      if (piece && inFlight.get(index) !== piece) inFlight.set(index, piece as SourcedPiece)
    })
  })
  torrent.on('verified', (index: number) => trust.onPassed(senders(index)))
  torrent.on('warning', (error: Error) => {
    const match = FAILED_PIECE.exec(error.message)
    if (!match) return
    for (const peerId of trust.onFailed(senders(Number(match[1])))) {
      bannedCount += 1
      refuse(peerId)
      const wires = torrent.wires.filter((candidate) => candidate.peerId === peerId)
      if (wires[0]) options.onBan(wires[0], trust.failedPieces(peerId))
      for (const wire of wires) wire.destroy()
    }
  })
  return () => bannedCount
}

interface SourcedPiece {
  /** The wires whose blocks make up the piece, kept past `flush` (see below). */
  flushedSources?: Wire[]
}

let isFlushPatched = false

/**
 * torrent-piece records which wire each stored block came from but forgets them in `flush`, just
 * before webtorrent checks the hash; kept, they name exactly who sent a piece, and not wires whose
 * late or duplicate blocks were thrown away.
 */
function keepSendersOfFlushedPieces(): void {
  if (isFlushPatched) return
  isFlushPatched = true
  const flush = Piece.prototype.flush
  Piece.prototype.flush = function (this: InstanceType<typeof Piece> & SourcedPiece) {
    const sources = this.sources
    const buffer = flush.call(this)
    if (buffer && sources) this.flushedSources = sources as Wire[]
    return buffer
  }
}
