import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SwarmProgress } from '../../lib/torrent/swarm-progress.ts'

const MiB = 1024 * 1024

test('the live view aggregates hosts, rates and where bytes came from', () => {
  let now = 0
  const progress = new SwarmProgress(['h01', 'h02', 'h03'], () => now)
  progress.update('h01', { downloadedBytes: 10 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 4 * MiB, fromPeersBytes: 6 * MiB, uploadedBytes: 0, downRateBps: 2 * MiB })
  progress.update('h02', { downloadedBytes: 5 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 5 * MiB, fromPeersBytes: 0, uploadedBytes: MiB, downRateBps: MiB })
  now = 4000
  progress.finish('h03', { downloadedBytes: 20 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 0, fromPeersBytes: 20 * MiB, uploadedBytes: 3 * MiB, downRateBps: 0 })
  assert.deepEqual(progress.render(), [
    'murder:peer 1/3 peers done, 58% of bytes · 3.0 MiB/s total, slowest 1.0 MiB/s · from seeder 9.0 MiB, from peers 26.0 MiB',
  ])
  progress.fail('h02', 'sha256 mismatch')
  progress.finish('h01', { downloadedBytes: 20 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 4 * MiB, fromPeersBytes: 16 * MiB, uploadedBytes: 0, downRateBps: 0 })
  // The closing line: no rate now, but the mean over the swarm (45 MiB in 4 s).
  assert.deepEqual(progress.render(), [
    'murder:peer 2/3 peers done, 1 failed, 75% of bytes · mean 11.3 MiB/s total · from seeder 9.0 MiB, from peers 36.0 MiB',
  ])
  assert.deepEqual(progress.summary(), [
    'murder:peer per host:',
    '  h01  4.00s  5.0 MiB/s  from seeder 4.0 MiB, from peers 16.0 MiB, sent 0 B',
    '  h02  failed after 4.00s: sha256 mismatch',
    '  h03  4.00s  5.0 MiB/s  from seeder 0 B, from peers 20.0 MiB, sent 3.0 MiB',
  ])
})

test('the quiet clock runs while no host receives a byte, and stops once none is left running', () => {
  let now = 0
  const progress = new SwarmProgress(['h01', 'h02'], () => now)
  const counters = (downloadedBytes: number) => ({ downloadedBytes, totalBytes: 4 * MiB, fromSeederBytes: downloadedBytes, fromPeersBytes: 0, uploadedBytes: 0, downRateBps: 0 })
  now = 3000
  assert.equal(progress.quietMs(), 3000)
  progress.restartQuietClock()
  now = 4000
  progress.update('h01', counters(MiB))
  now = 9000
  progress.update('h01', counters(MiB)) // the same count again is no progress
  progress.update('h02', counters(0))
  assert.equal(progress.quietMs(), 5000)
  assert.equal(progress.standing(), '0 of 2 peers done, 1.0 MiB of 8.0 MiB received')
  progress.finish('h02', counters(4 * MiB))
  now = 10_000
  assert.equal(progress.quietMs(), 1000, 'a host finishing is progress')
  progress.fail('h01', 'given up')
  assert.equal(progress.quietMs(), 0, 'nobody left to wait for')
})

test("a host whose peer was an earlier run's shows that peer's totals, without a rate, and is left out of the run's mean", () => {
  let now = 0
  const progress = new SwarmProgress(['h01', 'h02'], () => now)
  progress.markEarlierPeer('h02')
  now = 200
  progress.finish('h02', { downloadedBytes: 20 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 5 * MiB, fromPeersBytes: 15 * MiB, uploadedBytes: 2 * MiB, downRateBps: 0 })
  now = 2000
  progress.finish('h01', { downloadedBytes: 20 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 20 * MiB, fromPeersBytes: 0, uploadedBytes: 0, downRateBps: 0 })
  assert.deepEqual(progress.summary(), [
    'murder:peer per host:',
    '  h01  2.00s  10.0 MiB/s  from seeder 20.0 MiB, from peers 0 B, sent 0 B',
    '  h02  200ms  joined the peer an earlier run left running; its totals: from seeder 5.0 MiB, from peers 15.0 MiB, sent 2.0 MiB',
  ])
  // The headline counts this run's bytes: h02's 5 MiB from the seeder came in the earlier run.
  assert.deepEqual(progress.render(), [
    "murder:peer 2/2 peers done (1 joined an earlier run's peer), 100% of bytes · mean 10.0 MiB/s total · from seeder 20.0 MiB, from peers 0 B",
  ])
})

test('a host that already held the payload (or some of it) shows no made-up rate: rates count what came over the wire', () => {
  let now = 0
  const progress = new SwarmProgress(['h01', 'h02'], () => now)
  now = 400
  progress.finish('h02', { downloadedBytes: 20 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 0, fromPeersBytes: 0, uploadedBytes: 3 * MiB, downRateBps: 0 })
  now = 2000
  progress.finish('h01', { downloadedBytes: 20 * MiB, totalBytes: 20 * MiB, fromSeederBytes: 4 * MiB, fromPeersBytes: 0, uploadedBytes: 0, downRateBps: 0 })
  assert.deepEqual(progress.summary(), [
    'murder:peer per host:',
    '  h01  2.00s  2.0 MiB/s  from seeder 4.0 MiB, from peers 0 B, sent 0 B',
    '  h02  400ms  held the payload already (checked), sent 3.0 MiB',
  ])
  assert.match(progress.render()[0] ?? '', /mean 2\.0 MiB\/s total/)
})

test("the seeder's row says it is the seeder, not a download of nothing at 0 B/s, and it is not counted among the peers done", () => {
  let now = 0
  const progress = new SwarmProgress(['h01', 'h02'], () => now)
  progress.markSeeder('h01')
  now = 5
  progress.finish('h01')
  // Holding the payload from the start, the seeder is not counted as a host done.
  assert.match(progress.render()[0] ?? '', /^murder:peer 0\/1 peers done, 0% of bytes · waiting for the first bytes · /)
  assert.equal(progress.standing(), '0 of 1 peers done, 0 B of 0 B received')
  // Nor among the peers failed, should it fail: that is said where it happens.
  const lost = new SwarmProgress(['h01', 'h02'], () => now)
  lost.markSeeder('h01')
  lost.fail('h01', 'the seeder ended before the swarm did')
  assert.match(lost.render()[0] ?? '', /^murder:peer 0\/1 peers done, 0% of bytes · /)
  now = 2000
  progress.finish('h02', { downloadedBytes: 4 * MiB, totalBytes: 4 * MiB, fromSeederBytes: 4 * MiB, fromPeersBytes: 0, uploadedBytes: 0, downRateBps: 0 })
  assert.deepEqual(progress.summary(), [
    'murder:peer per host:',
    '  h01  5ms  the seeder: it held the payload and served it (its sending is in the peers\' "from seeder")',
    '  h02  2.00s  2.0 MiB/s  from seeder 4.0 MiB, from peers 0 B, sent 0 B',
  ])
})
