import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeTrackerError, isTransient } from '../../lib/torrent/agent/tracker-watch.ts'

const fetchFailed = (cause: string) => Object.assign(new Error('fetch failed'), { cause: new Error(cause) })

test('a timed-out or unroutable announce is retried; a refused one fails at once', () => {
  assert.equal(isTransient(fetchFailed('Connect Timeout Error (attempted address: 10.213.1.1:8998, timeout: 10000ms)')), true)
  assert.equal(isTransient(fetchFailed('connect EHOSTUNREACH 10.213.1.1:8998')), true)
  assert.equal(isTransient(new Error('The operation was aborted')), true)
  assert.equal(isTransient(fetchFailed('connect ECONNREFUSED 10.213.1.1:8998')), false)
  assert.equal(isTransient(new Error('unknown torrent; run murder:create_torrent to whitelist it on the tracker')), false)
})

test('tracker errors read as unreachable or refused', () => {
  const url = 'http://10.213.1.1:8998/announce'
  assert.match(describeTrackerError(url, 'ab', fetchFailed('connect ECONNREFUSED 10.213.1.1:8998')), /not reachable: connect ECONNREFUSED/)
  assert.match(describeTrackerError(url, 'ab', new Error('unknown torrent')), /refused torrent ab: unknown torrent/)
})
