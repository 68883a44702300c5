// Which peers to stop taking data from. Pure. A piece whose SHA-1 fails was assembled from blocks
// of one or more peers; TCP's checksums make an honest peer's bad block vanishingly rare, so some
// peer that sent blocks of it is broken or hostile. webtorrent 2.8 only discards the piece and asks
// again, so a peer answering every request with garbage would hold a host short of its last pieces
// forever. As in libtorrent: the only sender of a failed piece is banned at once; when several sent
// blocks, each loses FAIL_PENALTY points and gains PASS_CREDIT for every piece that passes, and is
// banned at BAN_AT. A peer that lies every time is in every failure and never passes, so it falls
// first; an honest one that shared some failed pieces with it keeps the credit of its good pieces.

const PASS_CREDIT = 1
const FAIL_PENALTY = 2
/** Credit saved up by good pieces, so one long-honest peer still falls after a few failures. */
const MAX_TRUST = 8
const BAN_AT = -7

export class PieceTrust<Peer> {
  private readonly trust = new Map<Peer, number>()
  private readonly failures = new Map<Peer, number>()
  private readonly banned = new Set<Peer>()

  /** `isExempt`: peers never banned (the seeder this agent's own run started, which checked the payload). */
  constructor(private readonly isExempt: (peer: Peer) => boolean = () => false) {}

  isBanned(peer: Peer): boolean {
    return this.banned.has(peer)
  }

  /** Failed pieces `peer` sent blocks of. */
  failedPieces(peer: Peer): number {
    return this.failures.get(peer) ?? 0
  }

  /** Every peer that sent blocks of a piece that passed its hash. */
  onPassed(senders: readonly Peer[]): void {
    for (const peer of new Set(senders)) this.trust.set(peer, Math.min(MAX_TRUST, this.score(peer) + PASS_CREDIT))
  }

  /** Every peer that sent blocks of a piece that failed its hash; returns those newly banned. */
  onFailed(senders: readonly Peer[]): Peer[] {
    // Blocks from an exempt peer are good, so the others' are the bad ones.
    const distinct = [...new Set(senders)]
    for (const peer of distinct) this.failures.set(peer, this.failedPieces(peer) + 1)
    const suspects = distinct.filter((peer) => !this.isExempt(peer))
    const newlyBanned: Peer[] = []
    for (const peer of suspects) {
      if (this.banned.has(peer)) continue
      const score = suspects.length === 1 ? BAN_AT : this.score(peer) - FAIL_PENALTY
      this.trust.set(peer, score)
      if (score > BAN_AT) continue
      this.banned.add(peer)
      newlyBanned.push(peer)
    }
    return newlyBanned
  }

  private score(peer: Peer): number {
    return this.trust.get(peer) ?? 0
  }
}
