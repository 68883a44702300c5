// When webtorrent may take a block from a slow wire and ask a faster one: only in the end game.
import type { Torrent } from 'webtorrent'

/**
 * The last pieces of a download, where a block stuck on a slow wire holds back the whole piece and
 * webtorrent may hand it to a faster wire (hotswap): 64 KiB to 16 MiB, by the piece size.
 */
const ENDGAME_PIECES = 4

/**
 * webtorrent's hotswap moves a block from a slow wire to a faster one by dropping the slow wire's
 * reservation but not its request, so the block arrives twice. Throughout a download, on 16 farm
 * hosts at 25 Mbit/s, each host received 23-28% more piece bytes than the payload (6-8% with the
 * stock speed thresholds, see BLOCK_EDITS in build-agent.ts); in the end game only, where one
 * stuck block delays the download's end, 0.1-1.4%, and murder:peer took 28-31 s instead of 31-34 s.
 * Returns whether the end game has begun, that is whether a hotswap may now succeed.
 */
export function hotswapOnlyInEndgame(torrent: Torrent): () => boolean {
  const hotswap = torrent._hotswap.bind(torrent)
  let missingPieces = Infinity
  torrent.once('ready', () => {
    missingPieces = 0
    for (let index = 0; index < torrent.pieces.length; index++) if (!torrent.bitfield.get(index)) missingPieces += 1
  })
  torrent.on('verified', () => (missingPieces -= 1))
  const isEndgame = () => missingPieces <= ENDGAME_PIECES
  torrent._hotswap = (wire, index) => isEndgame() && hotswap(wire, index)
  return isEndgame
}
