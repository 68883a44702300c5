import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openPiecesPerPeer, SuperSeedPolicy, toBitfield } from '../../lib/torrent/agent/super-seed.ts'

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

test('a payload still arriving: only pieces the seeder holds are shown, and each arrival tops peers up', () => {
  const held = new Set<number>()
  const shown: [string, number[]][] = []
  const policy = new SuperSeedPolicy(6, { openPerPeer: 2, spreadWaitMs: 0, show: (peer, pieces) => shown.push([peer, pieces]), holds: (piece) => held.has(piece), random: () => 0.99 })
  assert.deepEqual(policy.introduce('a'), [], 'nothing has arrived: an empty bitfield')
  assert.deepEqual(policy.introduce('b'), [])
  held.add(0)
  policy.onArrival()
  assert.deepEqual(shown, [['a', [0]]], 'the first piece in goes to one peer only')
  held.add(1).add(2)
  policy.onArrival()
  assert.deepEqual(shown.slice(1), [['a', [1]], ['b', [2]]], 'then each new piece to the peer with room, once')
  held.add(3)
  policy.onArrival()
  assert.deepEqual(shown.slice(3), [['b', [3]]])
  policy.onArrival()
  assert.equal(shown.length, 4, 'no arrival, nothing new shown; pieces 4 and 5 were never shown')
})

test('once the whole payload has arrived, pieces are shown again as with a full payload', () => {
  const held = new Set([0, 1])
  const { shown, policy } = (() => {
    const shown: [string, number[]][] = []
    const policy = new SuperSeedPolicy(2, { openPerPeer: 1, spreadWaitMs: 0, show: (peer, pieces) => shown.push([peer, pieces]), holds: (piece) => held.has(piece), random: () => 0.99 })
    return { shown, policy }
  })()
  const first = [policy.introduce('a'), policy.introduce('b'), policy.introduce('c')]
  assert.deepEqual(first.map((pieces) => pieces.length), [1, 1, 0], 'while arriving, each piece goes to one peer')
  policy.onArrival(true)
  assert.equal(shown.length, 1, 'complete: c is shown a piece another peer was shown')
  assert.equal(shown[0]?.[0], 'c')
})

test('the seeder may show each peer 1 MiB ahead, and never fewer than 4 pieces', () => {
  const KIB = 1024
  assert.equal(openPiecesPerPeer(16 * KIB), 64)
  assert.equal(openPiecesPerPeer(48 * KIB), 22, 'a part of a piece counts as one')
  assert.equal(openPiecesPerPeer(256 * KIB), 4)
  assert.equal(openPiecesPerPeer(4 * KIB * KIB), 4, 'large pieces keep four in flight')
})
