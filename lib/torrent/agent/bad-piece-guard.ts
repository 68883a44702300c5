// Feeds a downloading torrent's hash results to PieceTrust and drops the peers it bans: their
// connections close, and any later connection from the same peer id closes at once.
import type { Torrent, Wire } from 'webtorrent'
import { PieceTrust } from './piece-trust.ts'

/** webtorrent's only report of a piece that failed its hash (torrent.js, `_request`). */
const FAILED_PIECE = /^Piece (\d+) failed verification$/

/** Who sent blocks of the piece object webtorrent is filling (it replaces one that fails). */
interface InFlight {
  piece: object
  senders: Set<string>
}

export interface BadPieceGuardOptions {
  /** Wires whose data is trusted whatever happens (the run's own seeder). */
  isExempt(wire: Wire): boolean
  /** Called once per wire closed because its peer was banned. */
  onBan(wire: Wire, failedPieces: number): void
}

/** Returns how many peers were banned so far. */
export function guardAgainstBadPieces(torrent: Torrent, options: BadPieceGuardOptions): () => number {
  const exempt = new Set<string>()
  const trust = new PieceTrust<string>((peerId) => exempt.has(peerId))
  const inFlight = new Map<number, InFlight>()
  const failures = new Map<string, number>()
  let bannedCount = 0

  // torrent-piece keeps its senders too, but forgets them before the hash is checked.
  const senders = (index: number): string[] => {
    const entry = inFlight.get(index)
    inFlight.delete(index)
    return [...(entry?.senders ?? [])]
  }

  torrent.on('wire', (wire: Wire) => {
    if (wire.peerId === null) return
    if (trust.isBanned(wire.peerId)) {
      // After webtorrent's own setup of this wire (queued as a microtask) has run.
      setImmediate(() => wire.destroy())
      return
    }
    const peerId = wire.peerId
    if (options.isExempt(wire)) exempt.add(peerId)
    wire.on('piece', (index: number) => {
      const piece = torrent.pieces[index]
      if (!piece) return
      let entry = inFlight.get(index)
      if (entry?.piece !== piece) inFlight.set(index, (entry = { piece, senders: new Set() }))
      entry.senders.add(peerId)
    })
  })
  torrent.on('verified', (index: number) => trust.onPassed(senders(index)))
  torrent.on('warning', (error: Error) => {
    const match = FAILED_PIECE.exec(error.message)
    if (!match) return
    const peerIds = senders(Number(match[1]))
    for (const peerId of peerIds) failures.set(peerId, (failures.get(peerId) ?? 0) + 1)
    for (const peerId of trust.onFailed(peerIds)) {
      bannedCount += 1
      for (const wire of torrent.wires.filter((candidate) => candidate.peerId === peerId)) {
        options.onBan(wire, failures.get(peerId) ?? 0)
        wire.destroy()
      }
    }
  })
  return () => bannedCount
}
