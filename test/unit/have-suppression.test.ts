import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Wire } from 'webtorrent'
import { suppressRedundantHaves } from '../../lib/torrent/agent/have-suppression.ts'

/** Just what the suppression reads of a wire: the remote's pieces, and the HAVEs that reach the socket. */
function standInWire(remoteHolds: number[]): { wire: Wire; sent: number[] } {
  const sent: number[] = []
  const holds = new Set(remoteHolds)
  const wire = { peerPieces: { get: (index: number) => holds.has(index) }, have: (index: number) => void sent.push(index) }
  return { wire: wire as unknown as Wire, sent }
}

test('a HAVE goes only to peers that lack the piece', () => {
  const { wire, sent } = standInWire([1, 3])
  suppressRedundantHaves(wire, false)
  for (const index of [0, 1, 2, 3]) wire.have(index)
  assert.deepEqual(sent, [0, 2])
})

test('the seeder hears every HAVE, for super-seeding', () => {
  const { wire, sent } = standInWire([0, 1, 2, 3])
  suppressRedundantHaves(wire, true)
  for (const index of [0, 1, 2, 3]) wire.have(index)
  assert.deepEqual(sent, [0, 1, 2, 3])
})
