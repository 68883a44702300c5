import { test } from 'node:test'
import assert from 'node:assert/strict'
import fetch from '../../lib/torrent/agent/tracker-fetch.ts'
import { describeTrackerError, isTransient } from '../../lib/torrent/agent/tracker-watch.ts'
import { withHttpServer } from '../helpers/loopback-http.ts'

/** The error the agent's announce transport gives for `url`, as bittorrent-tracker passes it on. */
async function announceError(url: string, signal?: AbortSignal): Promise<unknown> {
  return fetch(url, signal ? { signal } : {}).then(
    () => assert.fail(`${url} answered`),
    (error: unknown) => error
  )
}

test('a timed-out or unroutable announce is retried; a refused one fails at once', async () => {
  assert.equal(isTransient(Object.assign(new Error('connect ETIMEDOUT 10.213.1.1:8998'), { code: 'ETIMEDOUT' })), true)
  assert.equal(isTransient(Object.assign(new Error('connect EHOSTUNREACH 10.213.1.1:8998'), { code: 'EHOSTUNREACH' })), true)
  assert.equal(isTransient(new Error('unknown torrent; run murder:create_torrent to whitelist it on the tracker')), false)
  let closedUrl = ''
  await withHttpServer(() => {}, async (url) => void (closedUrl = url))
  assert.equal(isTransient(await announceError(closedUrl)), false, 'ECONNREFUSED: no tracker')
  await withHttpServer(() => {}, async (url) => {
    assert.equal(isTransient(await announceError(url, AbortSignal.timeout(100))), true, 'no answer in time')
  })
})

test('tracker errors read as unreachable or refused', async () => {
  const url = 'http://10.213.1.1:8998/announce'
  assert.match(describeTrackerError(url, 'ab', new Error('unknown torrent')), /refused torrent ab: unknown torrent/)
  let closedUrl = ''
  await withHttpServer(() => {}, async (open) => void (closedUrl = open))
  assert.match(describeTrackerError(url, 'ab', await announceError(closedUrl)), /not reachable: connect ECONNREFUSED/)
  await withHttpServer(
    (request) => request.socket.destroy(),
    async (open) => assert.match(describeTrackerError(url, 'ab', await announceError(open)), /not reachable: (socket hang up|read ECONNRESET)/)
  )
})
