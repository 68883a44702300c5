import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DialPolicy, splitAddress } from '../../lib/torrent/agent/dial-policy.ts'

test('splitAddress reads ip:port and [v6]:port', () => {
  const cases: [string, ReturnType<typeof splitAddress>][] = [
    ['10.0.0.1:6881', { ip: '10.0.0.1', port: 6881 }],
    ['[::1]:6881', { ip: '::1', port: 6881 }],
    ['[::ffff:10.0.0.1]:80', { ip: '10.0.0.1', port: 80 }],
    ['10.0.0.1', undefined],
    [':80', undefined],
  ]
  for (const [address, expected] of cases) assert.deepEqual(splitAddress(address), expected, address)
})

test('a peer never dials its own address; a seeder dials nobody; a peer reached otherwise is not dialed', () => {
  let port = 0
  const own = { ips: new Set(['10.0.0.5', '127.0.0.1']), port: () => port }
  const peer = new DialPolicy(own, true)
  port = 6881
  const cases: [string, string][] = [
    ['10.0.0.5:6881', 'self'],
    ['127.0.0.1:6881', 'self'],
    ['10.0.0.5:6882', 'dial'],
    ['10.0.0.6:6881', 'dial'],
  ]
  for (const [address, verdict] of cases) assert.equal(peer.verdict(address), verdict, address)
  assert.equal(peer.refusedSelfCount, 2)
  peer.avoid('10.0.0.6:6881')
  assert.equal(peer.verdict('10.0.0.6:6881'), 'already-connected')
  peer.allow('10.0.0.6:6881')
  assert.equal(peer.verdict('10.0.0.6:6881'), 'dial')

  const seeder = new DialPolicy(own, false)
  assert.equal(seeder.verdict('10.0.0.6:6881'), 'seeder-waits')
  assert.equal(seeder.verdict('10.0.0.5:6881'), 'self')
})

test('a banned address is never dialed again, even once the peer it was avoided for has left', () => {
  const peer = new DialPolicy({ ips: new Set(['10.0.0.5']), port: () => 6881 }, true)
  peer.avoid('10.0.0.7:6881')
  peer.ban('10.0.0.7:6881')
  peer.allow('10.0.0.7:6881')
  assert.equal(peer.verdict('10.0.0.7:6881'), 'banned')
  assert.equal(peer.isBanned('10.0.0.7:6881'), true)
  assert.equal(peer.verdict('10.0.0.8:6881'), 'dial')
})
