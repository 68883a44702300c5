import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PieceTrust } from '../../lib/torrent/agent/piece-trust.ts'

test('the only sender of a piece that fails its hash is banned at once', () => {
  const trust = new PieceTrust<string>()
  trust.onPassed(['liar'])
  assert.deepEqual(trust.onFailed(['liar', 'liar']), ['liar'])
  assert.equal(trust.isBanned('liar'), true)
  assert.equal(trust.failedPieces('liar'), 1, 'two blocks of one piece are one failed piece')
  assert.deepEqual(trust.onFailed(['liar']), [], 'banned once')
})

test('of several senders, the one in every failure falls while an honest one with good pieces stays', () => {
  const trust = new PieceTrust<string>()
  for (let piece = 0; piece < 3; piece++) trust.onPassed(['honest'])
  const banned: string[] = []
  let failures = 0
  while (!trust.isBanned('liar') && failures < 20) {
    banned.push(...trust.onFailed(['honest', 'liar']))
    failures += 1
  }
  assert.deepEqual(banned, ['liar'])
  assert.equal(failures, 4)
  assert.equal(trust.isBanned('honest'), false)
})

test('credit from good pieces is capped, so a peer that turns bad still falls', () => {
  const trust = new PieceTrust<string>()
  for (let piece = 0; piece < 1000; piece++) trust.onPassed(['turncoat'])
  let failures = 0
  while (!trust.isBanned('turncoat') && failures < 100) {
    trust.onFailed(['turncoat', 'other'])
    failures += 1
  }
  assert.equal(failures, 8)
})

test('an exempt peer (the run\'s own seeder) is never banned, not even as the only sender', () => {
  const trust = new PieceTrust<string>((peer) => peer === 'seeder')
  for (let piece = 0; piece < 10; piece++) assert.deepEqual(trust.onFailed(['seeder']), [])
  assert.equal(trust.isBanned('seeder'), false)
  assert.deepEqual(trust.onFailed(['seeder', 'liar', 'liar']), ['liar'], 'the seeder\'s blocks are good, so the liar sent the bad ones')
})
