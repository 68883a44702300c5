import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { setImmediate as nextTurn } from 'node:timers/promises'
import Piece from 'torrent-piece'
import type { Torrent } from 'webtorrent'
import { hasBlockToAsk, MIN_PLAN_GAP_MS, paceRequestPlans, rarestAmongAskable } from '../../lib/torrent/agent/request-planner.ts'

const BLOCK = 16 * 1024

/** Just what the planner reads of a webtorrent Torrent; the rarity map returns the lowest index its filter lets through. */
function standInTorrent(pieces: (Piece | null)[], held: number[]): { torrent: Torrent; plans: () => number } {
  let planCount = 0
  const have = new Set(held)
  const torrent = Object.assign(new EventEmitter(), {
    pieces,
    bitfield: { get: (index: number) => have.has(index) },
    _rarityMap: {
      getRarestPiece: (filter?: (index: number) => boolean) => pieces.findIndex((_, index) => filter === undefined || filter(index)),
    },
    _update: () => {},
    _updateWireWrapper: () => void (planCount += 1),
  })
  return { torrent: torrent as unknown as Torrent, plans: () => planCount }
}

/** A two-block piece with every block asked for. */
function fullyAsked(): Piece {
  const piece = new Piece(2 * BLOCK)
  piece.reserve()
  piece.reserve()
  return piece
}

test('hasBlockToAsk agrees with torrent-piece: a block to ask until all are asked, again after a cancel, none once flushed', () => {
  const piece = new Piece(3 * BLOCK)
  const seen: boolean[] = []
  for (;;) {
    const predicted = hasBlockToAsk(piece)
    const reserved = piece.reserve()
    seen.push(predicted)
    assert.equal(predicted, reserved !== -1, `prediction before reservation ${seen.length}`)
    if (reserved === -1) break
  }
  assert.deepEqual(seen, [true, true, true, false])
  piece.cancel(1)
  assert.equal(hasBlockToAsk(piece), true, 'a cancelled block is handed out again')
  assert.equal(piece.reserve(), 1)
  assert.equal(hasBlockToAsk(piece), false)
  const flushed = new Piece(2 * BLOCK)
  flushed._flushed = true
  assert.equal(flushed.reserve(), -1, 'torrent-piece hands out nothing once flushed')
  assert.equal(hasBlockToAsk(flushed), false)
  assert.equal(hasBlockToAsk(null), false, 'a verified piece (null) has nothing to ask')
})

test('rarest-first skips held pieces, and fully asked ones unless blocks may be taken from other wires', () => {
  let mayTakeBlocks = false
  const pieces = [new Piece(2 * BLOCK), fullyAsked(), new Piece(2 * BLOCK), new Piece(2 * BLOCK)]
  const { torrent } = standInTorrent(pieces, [0])
  rarestAmongAskable(torrent, () => mayTakeBlocks)
  const map = torrent._rarityMap
  assert.ok(map)
  torrent.emit('metadata')
  assert.equal(map.getRarestPiece(), 2, 'piece 0 is held, piece 1 fully asked')
  assert.equal(map.getRarestPiece((index) => index !== 2), 3, "the caller's filter still applies")
  mayTakeBlocks = true
  assert.equal(map.getRarestPiece(), 1, 'in the end game a fully asked piece may be hotswapped')
  assert.equal(map.getRarestPiece((index) => index > 3), -1)
})

test("the caller's filter sees fully asked pieces too (webtorrent's speed ranker may refuse only so many a pass)", () => {
  const pieces = [fullyAsked(), fullyAsked(), new Piece(2 * BLOCK)]
  const { torrent } = standInTorrent(pieces, [])
  rarestAmongAskable(torrent, () => false)
  torrent.emit('metadata')
  let refusals = 2
  const ranker = () => (refusals > 0 ? (refusals -= 1, false) : true)
  assert.equal(torrent._rarityMap?.getRarestPiece(ranker), 2, 'the two refusals went to the fully asked pieces')
})

test('plans come one per turn of the event loop, and at most one per MIN_PLAN_GAP_MS', async () => {
  let time = 1000
  const timers: { at: number; callback: () => void }[] = []
  const { torrent, plans } = standInTorrent([], [])
  paceRequestPlans(torrent, { now: () => time, after: (ms, callback) => void timers.push({ at: time + ms, callback }) })
  for (let i = 0; i < 5; i++) torrent._update()
  assert.equal(plans(), 0, 'not planned synchronously')
  await nextTurn()
  assert.equal(plans(), 1, 'five requests for a plan, one plan')

  time += MIN_PLAN_GAP_MS / 2
  torrent._update()
  torrent._update()
  await nextTurn()
  assert.equal(plans(), 1, 'within the gap the plan waits')
  assert.deepEqual(timers.map((timer) => timer.at), [1000 + MIN_PLAN_GAP_MS], 'one timer, for the end of the gap')
  const timer = timers.shift()
  time = timer?.at ?? time
  timer?.callback()
  assert.equal(plans(), 2, 'and comes once the gap has passed')

  time += MIN_PLAN_GAP_MS
  torrent._update()
  await nextTurn()
  assert.equal(plans(), 3, 'after the gap, the next turn')
  assert.equal(timers.length, 0)
})
