import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SuperSeedPolicy, toBitfield } from '../../lib/torrent/agent/super-seed.ts'

function policyWith(pieceCount: number, openPerPeer = 2, spreadWaitMs = 1000) {
  const shown: [string, number[]][] = []
  const policy = new SuperSeedPolicy(pieceCount, { openPerPeer, spreadWaitMs, show: (peer, pieces) => shown.push([peer, pieces]), random: () => 0.99 })
  return { policy, shown }
}

test('every piece is shown once before any piece is shown twice', () => {
  const { policy } = policyWith(8, 2)
  const seen = [policy.introduce('a'), policy.introduce('b'), policy.introduce('c'), policy.introduce('d')].flat()
  assert.equal(new Set(seen).size, 8, 'four peers × two open pieces cover all eight pieces once')
  const fifth = policy.introduce('e')
  assert.equal(fifth.length, 2)
  for (const piece of fifth) assert.equal(policy.copies(piece), 2)
})

test('a peer gets a new piece only when one shown to it spreads to another peer', () => {
  const { policy, shown } = policyWith(6, 1)
  const [pieceA] = policy.introduce('a')
  const [pieceB] = policy.introduce('b')
  assert.ok(pieceA !== undefined && pieceB !== undefined && pieceA !== pieceB)
  policy.onHave('a', pieceA, 0)
  assert.deepEqual(shown, [], 'a holds its piece, b lacks it: wait')
  policy.onHave('b', pieceA, 10)
  assert.equal(shown.length, 1, 'b got it from a: a is shown one more')
  assert.equal(shown[0]?.[0], 'a')
  assert.notEqual(shown[0]?.[1][0], pieceA)
})

test('a piece that nobody picks up is released after spreadWaitMs', () => {
  const { policy, shown } = policyWith(6, 1, 1000)
  const [piece] = policy.introduce('a')
  policy.introduce('b')
  policy.onHave('a', piece!, 5000)
  policy.tick(5999)
  assert.deepEqual(shown, [])
  policy.tick(6000)
  assert.equal(shown.length, 1)
  assert.equal(shown[0]?.[0], 'a')
})

test('a lone peer is not held back: nobody else could take the piece from it', () => {
  const { policy, shown } = policyWith(4, 1)
  const [piece] = policy.introduce('a')
  policy.onHave('a', piece!, 0)
  assert.equal(shown.length, 1)
  for (let round = 0; round < 3; round++) {
    const last = shown.at(-1)?.[1][0]
    policy.onHave('a', last!, 0)
  }
  assert.equal(shown.length, 3, 'all four pieces shown in turn')
})

test('events before the introduction are remembered but nothing is sent until the bitfield', () => {
  const { policy, shown } = policyWith(4, 2)
  policy.onBitfield('a', (piece) => piece === 0, 0)
  policy.onHave('a', 1, 0)
  assert.deepEqual(shown, [])
  const introduced = policy.introduce('a')
  assert.deepEqual(introduced, [2, 3])
})

test('a peer that leaves gives its pieces back', () => {
  const { policy } = policyWith(2, 1)
  const [piece] = policy.introduce('a')
  assert.equal(policy.copies(piece!), 1)
  policy.removePeer('a')
  assert.equal(policy.copies(piece!), 0)
  policy.introduce('b')
  policy.onHave('b', 1 - piece!, 0)
  policy.removePeer('b')
  assert.equal(policy.copies(1 - piece!), 0)
})

test('toBitfield sets piece 0 as the high bit of byte 0', () => {
  assert.deepEqual([...toBitfield([], 9)], [0, 0])
  assert.deepEqual([...toBitfield([0, 7, 8], 9)], [0x81, 0x80])
  assert.deepEqual([...toBitfield([1, 2], 3)], [0x60])
})

test('with spreadWaitMs 0 a peer is shown a new piece as soon as it holds one, still rarest first', () => {
  const { policy, shown } = policyWith(6, 1, 0)
  const [pieceA] = policy.introduce('a')
  const [pieceB] = policy.introduce('b')
  policy.onHave('a', pieceA!, 0)
  assert.equal(shown.length, 1, 'no waiting for the piece to spread')
  const next = shown[0]?.[1][0]
  assert.ok(next !== undefined && next !== pieceA && next !== pieceB, 'a piece nobody has or was shown')
})

test('once the swarm holds a piece, a peer gets a copy of it from the seeder only when it has nothing else open', () => {
  const { policy } = policyWith(3, 2, 0)
  const held = policy.introduce('a')
  for (const piece of held) policy.onHave('a', piece, 0)
  const shownToB = policy.introduce('b')
  assert.equal(shownToB.filter((piece) => held.includes(piece)).length <= 1, true, `b was shown ${shownToB.join(',')}; a holds ${held.join(',')}`)
  assert.ok(shownToB.length >= 1, 'b is never left with nothing from the seeder')
})
