import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ENOUGH_WIRES, PEERS_PER_ANNOUNCE, peersWanted } from '../../lib/torrent/agent/peers-wanted.ts'

test('a downloading client asks for a few peers until it holds enough wires, then tops up by one', () => {
  assert.equal(peersWanted({ isSeed: false, isDone: false, wireCount: 0 }), PEERS_PER_ANNOUNCE)
  assert.equal(peersWanted({ isSeed: false, isDone: false, wireCount: ENOUGH_WIRES - 1 }), PEERS_PER_ANNOUNCE)
  assert.equal(peersWanted({ isSeed: false, isDone: false, wireCount: ENOUGH_WIRES }), 1)
  assert.equal(peersWanted({ isSeed: false, isDone: false, wireCount: ENOUGH_WIRES * 4 }), 1)
})

test('a seeder and a finished peer ask for nobody, whatever their wires', () => {
  for (const wireCount of [0, ENOUGH_WIRES, 50]) {
    assert.equal(peersWanted({ isSeed: true, isDone: false, wireCount }), 0)
    assert.equal(peersWanted({ isSeed: false, isDone: true, wireCount }), 0)
  }
})
