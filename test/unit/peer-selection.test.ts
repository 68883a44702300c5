import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Handouts, originFanout, selectPeers, type Member } from '../../lib/torrent/agent/peer-selection.ts'

function member(n: number, options: Partial<Member> = {}): Member {
  return { key: `10.0.0.${n}:6881`, peerId: `id${n}`, ip: `10.0.0.${n}`, isComplete: false, isOrigin: false, ...options }
}

const keys = (members: readonly Member[]) => members.map((m) => m.key).sort()
const first = () => 0

test('a client is never handed itself: same ip:port, same peer id, or same IP', () => {
  const me = member(1)
  const members = [me, member(1, { key: '10.0.0.1:7000', peerId: 'other' }), member(2, { peerId: 'id1' }), member(3)]
  assert.deepEqual(keys(selectPeers(members, me, 50, new Handouts(), first)), ['10.0.0.3:6881'])
})

test('complete clients get no peers: they wait to be dialed', () => {
  const members = [member(1, { isComplete: true, isOrigin: true }), member(2), member(3, { isComplete: true })]
  assert.deepEqual(selectPeers(members, members[0]!, 50, new Handouts(), first), [])
  assert.deepEqual(selectPeers(members, members[2]!, 50, new Handouts(), first), [])
  assert.deepEqual(selectPeers(members, members[1]!, 0, new Handouts(), first), [])
})

test('a pair is introduced one way only, so only one side dials', () => {
  const handouts = new Handouts()
  const [a, b, c] = [member(1), member(2), member(3)]
  assert.deepEqual(keys(selectPeers([a], a, 50, handouts, first)), [])
  assert.deepEqual(keys(selectPeers([a, b], b, 50, handouts, first)), [a.key])
  assert.deepEqual(keys(selectPeers([a, b, c], a, 50, handouts, first)), [c.key], 'a re-announces: b already dials a')
  assert.deepEqual(keys(selectPeers([a, b, c], c, 50, handouts, first)), [b.key], 'c: a was handed c, b was not')
  assert.deepEqual(keys(selectPeers([a, b, c], b, 50, handouts, first)), [a.key], 'b again: a is still b\'s to dial')
})

test('the origin seeder goes to a few downloading peers only; finished peers come before unfinished ones', () => {
  const handouts = new Handouts()
  const seeder = member(100, { isComplete: true, isOrigin: true })
  const peers = Array.from({ length: 12 }, (_, i) => member(i + 1))
  const members = [seeder, ...peers]
  const fanout = originFanout(12)
  assert.equal(fanout, 4)
  const gotSeeder = peers.filter((peer) => selectPeers(members, peer, 3, handouts, first).some((m) => m.key === seeder.key))
  assert.equal(gotSeeder.length, fanout)
  assert.deepEqual(selectPeers(members, gotSeeder[0]!, 1, handouts, first)[0]?.key, seeder.key, 'a holder keeps getting it')

  const finished = member(50, { isComplete: true })
  const late = member(60)
  const chosen = selectPeers([...members, finished, late], late, 2, handouts, first)
  assert.equal(chosen[0]?.key, finished.key)
  assert.ok(!chosen.some((m) => m.key === seeder.key))

  // When holders finish, the seeder is free for others.
  const done = members.map((m) => (gotSeeder.includes(m) ? { ...m, isComplete: true } : m))
  assert.ok(selectPeers(done, late, 50, handouts, first).some((m) => m.key === seeder.key))
})

test('origin fanout grows with the square root of the downloading peers, 4 to 16', () => {
  const cases: [number, number][] = [[0, 4], [1, 4], [16, 4], [17, 5], [100, 10], [256, 16], [1000, 16]]
  for (const [count, expected] of cases) assert.equal(originFanout(count), expected, String(count))
})

test('forget drops a client from every introduction', () => {
  const handouts = new Handouts()
  const [a, b] = [member(1), member(2)]
  selectPeers([a, b], b, 50, handouts, first)
  assert.equal(handouts.wasGiven(b.key, a.key), true)
  handouts.forget(a.key)
  assert.equal(handouts.wasGiven(b.key, a.key), false)
  assert.deepEqual(handouts.holdersOf(a.key), [])
})
