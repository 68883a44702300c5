import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import Piece from 'torrent-piece'
import type { Torrent, Wire } from 'webtorrent'
import { EXHAUSTED_REPLAN_MS, skipExhaustedWires } from '../../lib/torrent/agent/exhausted-wires.ts'

/** A wire as the planner sees it: its outstanding requests. */
function standInWire(): Wire {
  return Object.assign(new EventEmitter(), { requests: [] as unknown[], destroyed: false }) as unknown as Wire
}

/**
 * A torrent whose plan of a wire asks for one block when `offers` says the wire has one for us,
 * and counts how often each wire was planned.
 */
function standInTorrent(offers: (wire: Wire) => boolean): { torrent: Torrent; planned: Map<Wire, number> } {
  const planned = new Map<Wire, number>()
  const torrent = Object.assign(new EventEmitter(), {
    wires: [] as Wire[],
    _updateWire(wire: Wire) {
      planned.set(wire, (planned.get(wire) ?? 0) + 1)
      if (offers(wire)) wire.requests.push({})
    },
  })
  return { torrent: torrent as unknown as Torrent, planned }
}

function setUp(offers: (wire: Wire) => boolean = () => false) {
  let time = 0
  let mayTakeBlocks = false
  const { torrent, planned } = standInTorrent(offers)
  skipExhaustedWires(torrent, () => mayTakeBlocks, () => time)
  const wire = standInWire()
  torrent.emit('wire', wire)
  const plan = () => torrent._updateWire(wire)
  return {
    torrent,
    wire,
    plan,
    plans: () => planned.get(wire) ?? 0,
    advance: (ms: number) => void (time += ms),
    beginEndgame: () => void (mayTakeBlocks = true),
  }
}

test('a wire that offered nothing is not planned again until it announces a piece or unchokes us', () => {
  const { wire, plan, plans } = setUp()
  plan()
  plan()
  plan()
  assert.equal(plans(), 1, 'planned once, then skipped')
  for (const event of ['have', 'bitfield', 'have-all', 'unchoke', 'allowed-fast']) {
    wire.emit(event)
    plan()
    plan()
  }
  assert.equal(plans(), 6, `once more after each of the five events`)
})

test('a wire that took a request is planned every time', () => {
  const { plan, plans } = setUp(() => true)
  plan()
  plan()
  plan()
  assert.equal(plans(), 3)
})

test("a skipped wire is planned again once one of its requests ends, freeing room in its pipeline", () => {
  let isOffering = true
  const { wire, plan, plans } = setUp(() => isOffering)
  plan()
  isOffering = false
  plan()
  plan()
  assert.equal(plans(), 2, 'the second plan asked nothing; the third was skipped')
  wire.requests.pop()
  plan()
  assert.equal(plans(), 3)
})

test('a block given back, a piece that failed its hash and the end game each replan every skipped wire', () => {
  const { torrent, plan, plans, beginEndgame } = setUp()
  plan()
  plan()
  assert.equal(plans(), 1)
  const piece = new Piece(2 * 16 * 1024)
  piece.reserve()
  piece.cancel(0)
  plan()
  plan()
  assert.equal(plans(), 2, 'after a cancelled block')
  torrent.emit('warning', new Error('tracker announce failed'))
  plan()
  assert.equal(plans(), 2, 'not after another warning')
  torrent.emit('warning', new Error('Piece 3 failed verification'))
  plan()
  plan()
  assert.equal(plans(), 3, 'after a failed piece')
  beginEndgame()
  plan()
  plan()
  assert.equal(plans(), 4, 'once blocks may be taken from other wires')
})

test('a skipped wire is planned again after EXHAUSTED_REPLAN_MS whatever happened', () => {
  const { plan, plans, advance } = setUp()
  plan()
  advance(EXHAUSTED_REPLAN_MS - 1)
  plan()
  assert.equal(plans(), 1)
  advance(1)
  plan()
  assert.equal(plans(), 2)
})

test('wires connected before the planner was hooked are watched too', () => {
  const { torrent, planned } = standInTorrent(() => false)
  const early = standInWire()
  torrent.wires.push(early)
  skipExhaustedWires(torrent, () => false, () => 0)
  torrent._updateWire(early)
  torrent._updateWire(early)
  early.emit('have')
  torrent._updateWire(early)
  assert.equal(planned.get(early), 2)
})
