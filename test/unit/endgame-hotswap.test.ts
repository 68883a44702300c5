import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { Torrent, Wire } from 'webtorrent'
import { hotswapOnlyInEndgame } from '../../lib/torrent/agent/endgame-hotswap.ts'

/** Just what the wrapper reads of a webtorrent Torrent: its pieces, its bitfield and its hotswap. */
function standInTorrent(pieceCount: number, held: number[]): { torrent: Torrent; swaps: number[] } {
  const swaps: number[] = []
  const have = new Set(held)
  const torrent = Object.assign(new EventEmitter(), {
    pieces: new Array<null>(pieceCount).fill(null),
    bitfield: { get: (index: number) => have.has(index) },
    _hotswap: (_wire: Wire, index: number) => (swaps.push(index), true),
  })
  return { torrent: torrent as unknown as Torrent, swaps }
}

test('hotswap is passed on only once at most 4 pieces are missing, counting pieces held at the start', () => {
  const { torrent, swaps } = standInTorrent(10, [0, 1])
  const wire = {} as Wire
  const isEndgame = hotswapOnlyInEndgame(torrent)
  assert.equal(torrent._hotswap(wire, 5), false, 'before ready nothing is known: no hotswap')
  torrent.emit('ready')
  assert.equal(torrent._hotswap(wire, 5), false, '8 missing')
  for (const index of [2, 3, 4]) torrent.emit('verified', index)
  assert.equal(torrent._hotswap(wire, 5), false, '5 missing')
  assert.equal(isEndgame(), false)
  torrent.emit('verified', 5)
  assert.equal(isEndgame(), true)
  assert.equal(torrent._hotswap(wire, 6), true, '4 missing: the end game')
  assert.deepEqual(swaps, [6])
})
