// webtorrent's request planner (Torrent#_update: which blocks each wire asks for next), run less
// often and made to scan less; it still picks from the same pieces.
import type Piece from 'torrent-piece'
import type { Torrent } from 'webtorrent'

/**
 * Plans are at least this far apart. webtorrent refills a wire's pipeline below 2 blocks plus half
 * a second at its measured speed: at 128 KiB a block, 2 blocks last 84 ms even at 25 Mbit/s.
 */
export const MIN_PLAN_GAP_MS = 20

/**
 * webtorrent re-plans every wire's requests on every HAVE, bitfield, block and verified piece, and
 * with rarest-first each plan scans the pieces: with 15 peers each announcing every piece, that
 * work, not the network, used the CPU of a 2-core farm host. Plans now come one per turn of the
 * event loop, after the messages that arrived together, and at most one per MIN_PLAN_GAP_MS: on
 * 16 farm hosts at 25 Mbit/s the planner's share of a peer's profile went from 12% to 7%.
 */
export function paceRequestPlans(torrent: Torrent, clock: PlanClock = realClock): void {
  let isScheduled = false
  let plannedAt = -Infinity
  const plan = () => {
    isScheduled = false
    plannedAt = clock.now()
    torrent._updateWireWrapper()
  }
  torrent._update = () => {
    if (isScheduled) return
    isScheduled = true
    const wait = plannedAt + MIN_PLAN_GAP_MS - clock.now()
    if (wait > 0) clock.after(wait, plan)
    else setImmediate(plan)
  }
}

/** Time and the gap's timer, replaceable in tests: a loaded machine can run a short timer before the next turn. */
export interface PlanClock {
  now(): number
  after(ms: number, callback: () => void): void
}

const realClock: PlanClock = { now: () => performance.now(), after: (ms, callback) => void setTimeout(callback, ms) }

/** Whether torrent-piece's `reserve()` would hand out a block of this piece now. */
export function hasBlockToAsk(piece: Piece | null | undefined): boolean {
  if (!piece || piece._flushed) return false
  return piece._reservations < piece._chunks || (piece._cancellations?.length ?? 0) > 0
}

/**
 * webtorrent's rarest-first asks the rarity map for the rarest piece the wire has, tries to request
 * it, and asks again without that piece until the wire's pipeline is full. Pieces this client holds
 * were offered too, and so were pieces whose every block is already asked of another wire: each
 * cost a failed try and another scan of every piece (O(P²) per wire and plan; with held pieces, the
 * largest share of a peer's CPU on 32 farm hosts). The map now skips held pieces, and fully asked
 * ones while no block can be taken from another wire (`mayTakeBlocks`: webtorrent's hotswap, which
 * the agent allows only in the end game): the pieces a request can go to are the same, found in
 * one scan per request that fits.
 */
export function rarestAmongAskable(torrent: Torrent, mayTakeBlocks: () => boolean): void {
  torrent.once('metadata', () => {
    const map = torrent._rarityMap
    if (!map) return
    const rarest = map.getRarestPiece.bind(map)
    // The caller's filter goes before the reservation check: webtorrent's speed ranker, part of it,
    // may refuse only 10 pieces a pass and must see the fully asked ones too, as in stock.
    map.getRarestPiece = (filter) => {
      const mayAskFullyAsked = mayTakeBlocks()
      return rarest((index) => !torrent.bitfield.get(index) && (filter === undefined || filter(index)) && (mayAskFullyAsked || hasBlockToAsk(torrent.pieces[index])))
    }
  })
}
