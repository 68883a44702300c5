import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemberList, originFanout, Roster, selectPeers, type Member } from '../../lib/torrent/agent/peer-selection.ts'

function member(n: number, options: Partial<Member> = {}): Member {
  return { key: `10.0.0.${n}:6881`, peerId: `id${n}`, ip: `10.0.0.${n}`, isComplete: false, isOrigin: false, ...options }
}

function rosterOf(members: readonly Member[]): Roster {
  const roster = new Roster()
  for (const m of members) roster.set(m)
  return roster
}

const keys = (members: readonly Member[]) => members.map((m) => m.key).sort()
const first = () => 0

function seededRandom(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648
  }
}

test('a client is never handed itself: same ip:port, same peer id, or same IP', () => {
  const me = member(1)
  const roster = rosterOf([me, member(1, { key: '10.0.0.1:7000', peerId: 'other' }), member(2, { peerId: 'id1' }), member(3)])
  assert.deepEqual(keys(selectPeers(roster, me.key, 50, first)), ['10.0.0.3:6881'])
})

test('complete clients get no peers: they wait to be dialed', () => {
  const members = [member(1, { isComplete: true, isOrigin: true }), member(2), member(3, { isComplete: true })]
  const roster = rosterOf(members)
  assert.deepEqual(selectPeers(roster, members[0]!.key, 50, first), [])
  assert.deepEqual(selectPeers(roster, members[2]!.key, 50, first), [])
  assert.deepEqual(selectPeers(roster, members[1]!.key, 0, first), [])
  assert.deepEqual(selectPeers(roster, '10.9.9.9:1', 50, first), [], 'not a member')
})

test('a pair is introduced one way only, so only one side dials', () => {
  const roster = new Roster()
  const [a, b, c] = [member(1), member(2), member(3)]
  roster.set(a)
  assert.deepEqual(keys(selectPeers(roster, a.key, 50, first)), [])
  roster.set(b)
  assert.deepEqual(keys(selectPeers(roster, b.key, 50, first)), [a.key])
  roster.set(c)
  assert.deepEqual(keys(selectPeers(roster, a.key, 50, first)), [c.key], 'a re-announces: b already dials a')
  assert.deepEqual(keys(selectPeers(roster, c.key, 50, first)), [b.key], 'c: a was handed c, b was not')
  assert.deepEqual(keys(selectPeers(roster, b.key, 50, first)), [a.key], "b again: a is still b's to dial")
})

test('the origin seeder goes to a few downloading peers only; finished peers come before unfinished ones', () => {
  const seeder = member(100, { isComplete: true, isOrigin: true })
  const peers = Array.from({ length: 12 }, (_, i) => member(i + 1))
  const roster = rosterOf([seeder, ...peers])
  const fanout = originFanout(12)
  assert.equal(fanout, 8)
  const gotSeeder = peers.filter((peer) => selectPeers(roster, peer.key, 3, first).some((m) => m.key === seeder.key))
  assert.equal(gotSeeder.length, fanout)
  assert.equal(roster.downloadingHoldersOf(seeder.key), fanout)
  assert.deepEqual(selectPeers(roster, gotSeeder[0]!.key, 1, first)[0]?.key, seeder.key, 'a holder keeps getting it')

  const finished = member(50, { isComplete: true })
  const late = member(60)
  roster.set(finished)
  roster.set(late)
  const chosen = selectPeers(roster, late.key, 2, first)
  assert.equal(chosen[0]?.key, finished.key)
  assert.ok(!chosen.some((m) => m.key === seeder.key))

  // When holders finish, the seeder is free for others.
  for (const holder of gotSeeder) roster.set({ ...holder, isComplete: true })
  assert.equal(roster.downloadingHoldersOf(seeder.key), 0)
  assert.ok(selectPeers(roster, late.key, 50, first).some((m) => m.key === seeder.key))
})

test('origin fanout grows with twice the square root of the downloading peers, 8 to 16', () => {
  const cases: [number, number][] = [[0, 8], [1, 8], [16, 8], [17, 9], [36, 12], [47, 14], [56, 15], [57, 16], [1000, 16]]
  for (const [count, expected] of cases) assert.equal(originFanout(count), expected, String(count))
})

test('delete drops a client from every introduction', () => {
  const [a, b] = [member(1), member(2)]
  const roster = rosterOf([a, b])
  selectPeers(roster, b.key, 50, first)
  assert.equal(roster.wasGiven(b.key, a.key), true)
  roster.delete(a.key)
  assert.equal(roster.wasGiven(b.key, a.key), false)
  assert.deepEqual(roster.holdersOf(a.key), [])
  assert.equal(roster.get(a.key), undefined)
})

test('downloading holders are counted as hand-outs happen, peers finish, come back and leave', () => {
  const seeder = member(100, { isComplete: true, isOrigin: true })
  const [a, b, c] = [member(1), member(2), member(3)]
  const roster = rosterOf([seeder, a, b, c])
  for (const m of [a, b, c]) selectPeers(roster, m.key, 50, first)
  assert.equal(roster.downloadingHoldersOf(seeder.key), 3)
  assert.deepEqual(roster.holdersOf(seeder.key).sort(), [a.key, b.key, c.key])
  roster.set({ ...a, isComplete: true })
  assert.equal(roster.downloadingHoldersOf(seeder.key), 2, 'a finished')
  roster.set({ ...a, isComplete: true })
  assert.equal(roster.downloadingHoldersOf(seeder.key), 2, 'a announces again, complete')
  roster.delete(b.key)
  assert.equal(roster.downloadingHoldersOf(seeder.key), 1, 'b left')
  roster.delete(a.key)
  assert.equal(roster.downloadingHoldersOf(seeder.key), 1, 'a left, it was complete')
  assert.deepEqual(roster.holdersOf(seeder.key), [c.key])
  assert.equal(roster.downloadingSize, 1)
})

test('a member list keeps one entry per key and fills a gap with the last entry', () => {
  const list = new MemberList()
  const [a, b, c] = [member(1), member(2), member(3)]
  for (const m of [a, b, c]) list.put(m)
  list.put({ ...b, isComplete: true })
  assert.equal(list.length, 3)
  assert.equal(list.at(1)?.isComplete, true, 'replaced in place')
  list.delete(a.key)
  list.delete(a.key)
  assert.deepEqual([list.at(0)?.key, list.at(1)?.key, list.length], [c.key, b.key, 2])
  list.delete(b.key)
  assert.deepEqual([list.at(0)?.key, list.length], [c.key, 1])
})

// The rules read literally, by scanning the whole swarm: what selectPeers must agree with.
function eligibleByScan(members: readonly Member[], requester: Member, roster: Roster) {
  const candidates = members.filter(
    (m) => m.key !== requester.key && m.peerId !== requester.peerId && m.ip !== requester.ip && !roster.wasGiven(m.key, requester.key)
  )
  const downloading = new Set(members.filter((m) => !m.isComplete).map((m) => m.key))
  const fanout = originFanout(downloading.size)
  const origins = candidates.filter(
    (m) => m.isOrigin && (roster.wasGiven(requester.key, m.key) || roster.holdersOf(m.key).filter((key) => downloading.has(key)).length < fanout)
  )
  return {
    origins: origins.map((m) => m.key),
    finished: new Set(candidates.filter((m) => m.isComplete && !m.isOrigin).map((m) => m.key)),
    downloading: new Set(candidates.filter((m) => !m.isComplete && !m.isOrigin).map((m) => m.key)),
  }
}

test('over a random swarm history every selection follows the rules as a full scan reads them', () => {
  const random = seededRandom(7)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const roster = new Roster()
  const members = new Map<string, Member>()
  const put = (m: Member) => {
    members.set(m.key, m)
    roster.set(m)
  }
  put(member(250, { isComplete: true, isOrigin: true }))
  let next = 1
  let selections = 0
  let sawFinishedFirst = false
  for (let step = 0; step < 3000; step++) {
    const roll = random()
    if (roll < 0.25 && next < 240) {
      // Some hosts share an IP (another port) or a peer id.
      const n = next++
      put(member(n, n % 17 === 0 ? { ip: '10.0.0.1' } : n % 19 === 0 ? { peerId: 'id1' } : {}))
    } else if (roll < 0.3 && members.size > 2) {
      const gone = pick([...members.values()])
      members.delete(gone.key)
      roster.delete(gone.key)
    } else if (roll < 0.4) {
      const done = pick([...members.values()])
      put({ ...done, isComplete: true })
    } else {
      const requester = pick([...members.values()])
      const numwant = 1 + Math.floor(random() * 10)
      const expected = eligibleByScan([...members.values()], requester, roster)
      const chosen = selectPeers(roster, requester.key, numwant, random).map((m) => m.key)
      selections++
      const context = `step ${step}: ${requester.key} wants ${numwant}, got ${chosen.join(' ')}`
      if (requester.isComplete) {
        assert.deepEqual(chosen, [], context)
        continue
      }
      const origins = expected.origins.slice(0, numwant)
      assert.deepEqual(chosen.slice(0, origins.length), origins, context)
      const rest = chosen.slice(origins.length)
      const finishedCount = Math.min(numwant - origins.length, expected.finished.size)
      assert.ok(rest.slice(0, finishedCount).every((key) => expected.finished.has(key)), context)
      assert.ok(rest.slice(finishedCount).every((key) => expected.downloading.has(key)), context)
      assert.equal(new Set(chosen).size, chosen.length, context)
      assert.equal(chosen.length, Math.min(numwant, expected.origins.length + expected.finished.size + expected.downloading.size), context)
      if (finishedCount > 0 && rest.length > finishedCount) sawFinishedFirst = true
      for (const key of chosen) assert.equal(roster.wasGiven(requester.key, key), true, context)
    }
  }
  assert.ok(selections > 1000 && sawFinishedFirst, `${selections} selections`)
})

test('every candidate can be picked: the sample is not biased to the first members', () => {
  const random = seededRandom(11)
  const peers = Array.from({ length: 20 }, (_, i) => member(i + 1))
  const roster = rosterOf(peers)
  const picked = new Map<string, number>()
  for (let round = 0; round < 2000; round++) {
    const requester = member(100 + round)
    roster.set(requester)
    for (const m of selectPeers(roster, requester.key, 1, random)) picked.set(m.key, (picked.get(m.key) ?? 0) + 1)
    roster.delete(requester.key)
  }
  // 2000 picks over 20 peers: about 100 each.
  for (const peer of peers) assert.ok((picked.get(peer.key) ?? 0) > 50, `${peer.key}: ${picked.get(peer.key) ?? 0}`)
})
