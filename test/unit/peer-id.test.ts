import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isSeederPeerId, makePeerId } from '../../lib/torrent/agent/peer-id.ts'

const zeros = (size: number) => new Uint8Array(size)

test('peer ids are 20 bytes, Azureus style, and say whether they belong to the seeder', () => {
  const seed = makePeerId('seed', zeros)
  const peer = makePeerId('peer', zeros)
  assert.equal(Buffer.from(seed, 'hex').toString('latin1'), '-MS0100-aaaaaaaaaaaa')
  assert.equal(Buffer.from(peer, 'hex').toString('latin1'), '-MP0100-aaaaaaaaaaaa')
  assert.equal(seed.length, 40)
  assert.equal(isSeederPeerId(seed), true)
  assert.equal(isSeederPeerId(peer), false)
  assert.equal(isSeederPeerId(Buffer.from('-WW0208-abcdefabcdef').toString('hex')), false)
  assert.equal(isSeederPeerId(null), false)
  assert.notEqual(makePeerId('peer'), makePeerId('peer'))
})
