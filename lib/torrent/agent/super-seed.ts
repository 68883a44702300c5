// The seeder's piece policy: super-seeding (BEP 16). Pure; time comes in as `nowMs`.
//
// The seeder does not say it has every piece. Each connected peer is shown a few pieces at a time,
// always those with the fewest copies (peers holding it + peers it is shown to and not yet held),
// so every piece goes out once before any goes out twice. A peer is shown another piece only when
// one shown to it has spread: another peer got it after it was shown, every other connected peer
// already holds it, or the peer has held it for `spreadWaitMs` (peers that trade out of the seeder's
// sight, or cannot reach each other, must not stall). So the
// seeder sends about as fast as the swarm passes pieces on, and peers fetch the rest from each other.

const OPEN_BYTES_PER_PEER = 1024 * 1024
const MIN_OPEN_PIECES_PER_PEER = 4

/**
 * How many pieces the seeder may have shown a peer and not yet seen spread: 1 MiB, at least 4. A
 * new piece is shown only after the peer's HAVE crosses its upload queue and the seeder's HAVE and
 * the peer's request cross theirs, seconds on a full thin link, so the window must hold seconds of
 * the seeder's share of its link. Counted in pieces (4) it shrank with the pieces: 16 KiB pieces on
 * 16 hosts at 1 Mbit/s kept the seeder's link half idle (62 KB/s of 125) and took 73 s; 1 MiB, 60 s.
 */
export function openPiecesPerPeer(pieceLengthBytes: number): number {
  return Math.max(MIN_OPEN_PIECES_PER_PEER, Math.ceil(OPEN_BYTES_PER_PEER / pieceLengthBytes))
}

interface PeerState {
  id: string
  has: Uint8Array
  /** Pieces we told this peer we have. */
  shown: Set<number>
  /** Shown and not yet spread: piece → holders other than this peer when shown. */
  open: Map<number, number>
  /** When this peer came to hold each open piece. */
  heldSince: Map<number, number>
  isIntroduced: boolean
}

export interface SuperSeedOptions {
  /** Pieces a peer may have shown and not yet spread; enough to keep its request pipeline busy. */
  openPerPeer: number
  spreadWaitMs: number
  /** Sends HAVE messages: called with pieces newly shown to an already introduced peer. */
  show: (peer: string, pieces: number[]) => void
  /**
   * Whether the seeder holds a piece yet (a payload still arriving); every piece when absent. Until
   * `onArrival(true)`, a piece is shown to one peer only: the seeder's upload is then the scarce
   * thing, and every other peer can have the piece from that one.
   */
  holds?: (piece: number) => boolean
  random?: () => number
}

export class SuperSeedPolicy {
  private readonly holders: Int32Array
  private readonly pending: Int32Array
  private readonly peers = new Map<string, PeerState>()
  private readonly random: () => number
  /** Peers whose open pieces changed since the last `flush`. */
  private readonly dirty = new Set<PeerState>()
  shownCount = 0
  private isArriving: boolean

  constructor(
    readonly pieceCount: number,
    private readonly options: SuperSeedOptions
  ) {
    this.holders = new Int32Array(pieceCount)
    this.pending = new Int32Array(pieceCount)
    this.random = options.random ?? Math.random
    this.isArriving = options.holds !== undefined
  }

  /** The pieces for the first (bitfield) message to this peer; later ones go through `show`. */
  introduce(id: string): number[] {
    const peer = this.peer(id)
    peer.isIntroduced = true
    this.topUp(peer)
    return [...peer.shown].sort((a, b) => a - b)
  }

  onHave(id: string, piece: number, nowMs: number): void {
    this.markHeld(id, piece, nowMs)
    this.flush()
  }

  onBitfield(id: string, has: (piece: number) => boolean, nowMs: number): void {
    for (let piece = 0; piece < this.pieceCount; piece++) if (has(piece)) this.markHeld(id, piece, nowMs)
    this.flush()
  }

  /** The seeder came to hold more pieces (`holds`), or all of them: peers with room are shown them. */
  onArrival(isComplete = false): void {
    if (isComplete) this.isArriving = false
    for (const peer of this.peers.values()) if (peer.open.size < this.options.openPerPeer) this.dirty.add(peer)
    this.flush()
  }

  /** Releases pieces held past `spreadWaitMs`, or that no peer left needs, without spreading. */
  tick(nowMs: number): void {
    for (const peer of this.peers.values()) {
      for (const [piece, since] of peer.heldSince) {
        if (nowMs - since >= this.options.spreadWaitMs || this.isHeldByAllOthers(peer, piece)) this.release(peer, piece)
      }
    }
    this.flush()
  }

  removePeer(id: string): void {
    const peer = this.peers.get(id)
    if (!peer) return
    this.peers.delete(id)
    for (let piece = 0; piece < this.pieceCount; piece++) {
      if (peer.has[piece]) this.holders[piece] = (this.holders[piece] ?? 0) - 1
      else if (peer.shown.has(piece)) this.pending[piece] = (this.pending[piece] ?? 0) - 1
    }
  }

  /** Copies of a piece as the seeder sees them. */
  copies(piece: number): number {
    return (this.holders[piece] ?? 0) + (this.pending[piece] ?? 0)
  }

  private peer(id: string): PeerState {
    let peer = this.peers.get(id)
    if (!peer) {
      peer = { id, has: new Uint8Array(this.pieceCount), shown: new Set(), open: new Map(), heldSince: new Map(), isIntroduced: false }
      this.peers.set(id, peer)
    }
    return peer
  }

  private markHeld(id: string, piece: number, nowMs: number): void {
    const holder = this.peer(id)
    if (piece < 0 || piece >= this.pieceCount || holder.has[piece]) return
    holder.has[piece] = 1
    this.holders[piece] = (this.holders[piece] ?? 0) + 1
    if (holder.shown.has(piece)) this.pending[piece] = (this.pending[piece] ?? 0) - 1
    if (holder.open.has(piece)) {
      if (this.options.spreadWaitMs <= 0 || this.isHeldByAllOthers(holder, piece)) this.release(holder, piece)
      else holder.heldSince.set(piece, nowMs)
    }
    // The piece spread to `holder`: every other peer it was shown to may get a new one.
    for (const peer of this.peers.values()) {
      if (peer === holder) continue
      const othersWhenShown = peer.open.get(piece)
      if (othersWhenShown !== undefined && this.holdersOtherThan(peer, piece) > othersWhenShown) this.release(peer, piece)
    }
  }

  /** Nobody else connected lacks it (or nobody else is connected): there is nothing to wait for. */
  private isHeldByAllOthers(peer: PeerState, piece: number): boolean {
    return this.holdersOtherThan(peer, piece) >= this.peers.size - 1
  }

  private holdersOtherThan(peer: PeerState, piece: number): number {
    return (this.holders[piece] ?? 0) - (peer.has[piece] ?? 0)
  }

  private release(peer: PeerState, piece: number): void {
    peer.open.delete(piece)
    peer.heldSince.delete(piece)
    this.dirty.add(peer)
  }

  private flush(): void {
    for (const peer of this.dirty) {
      if (!peer.isIntroduced) continue
      const added = this.topUp(peer)
      if (added.length > 0 && this.peers.get(peer.id) === peer) this.options.show(peer.id, added)
    }
    this.dirty.clear()
  }

  private topUp(peer: PeerState): number[] {
    const added: number[] = []
    while (peer.open.size < this.options.openPerPeer) {
      const piece = this.rarestFor(peer)
      if (piece < 0) break
      // A piece some peer already holds can come from peers: the seeder adds a copy of it only to a
      // peer it has nothing else open for, so its upload goes to pieces the swarm lacks.
      if ((this.holders[piece] ?? 0) > 0 && peer.open.size > 0) break
      if (this.isArriving && this.copies(piece) > 0) break
      peer.shown.add(piece)
      peer.open.set(piece, this.holdersOtherThan(peer, piece))
      this.pending[piece] = (this.pending[piece] ?? 0) + 1
      this.shownCount += 1
      added.push(piece)
    }
    return added
  }

  /** The piece with the fewest copies that the seeder holds and this peer neither has nor was shown; ties broken at random. */
  private rarestFor(peer: PeerState): number {
    const holds = this.options.holds
    let best = -1
    let bestCopies = Infinity
    let ties = 0
    for (let piece = 0; piece < this.pieceCount; piece++) {
      if (peer.has[piece] || peer.shown.has(piece) || (holds !== undefined && !holds(piece))) continue
      const copies = this.copies(piece)
      if (copies < bestCopies) {
        best = piece
        bestCopies = copies
        ties = 1
      } else if (copies === bestCopies && this.random() * ++ties < 1) {
        best = piece
      }
    }
    return best
  }
}

/** A BitTorrent bitfield (piece 0 is the high bit of byte 0) with the given pieces set. */
export function toBitfield(pieces: readonly number[], pieceCount: number): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(pieceCount / 8))
  for (const piece of pieces) {
    const index = piece >> 3
    bytes[index] = (bytes[index] ?? 0) | (0x80 >> (piece & 7))
  }
  return bytes
}
