import { test } from 'node:test'
import assert from 'node:assert/strict'
import parseTorrent from 'parse-torrent'
import { SAMPLE_PAYLOAD_BYTES, SAMPLE_PIECE_BYTES, sampleTorrent } from '../helpers/sample-torrent.ts'
import { bencode, choosePieceLength, formatSha256Comment, parseSha256Comment } from '../../lib/torrent/agent/torrent-file.ts'

const KIB = 1024
const MIB = 1024 * KIB

test('bencode writes the canonical form: integers, byte strings, lists, dictionaries sorted by raw key', () => {
  const cases: [Parameters<typeof bencode>[0], string | Buffer][] = [
    [0, 'i0e'],
    [-42, 'i-42e'],
    ['', '0:'],
    ['spam', '4:spam'],
    ['é', '2:é'],
    [new Uint8Array([0, 255]), Buffer.from([0x32, 0x3a, 0, 255])],
    [[], 'le'],
    [['a', 1, ['b']], 'l1:ai1el1:bee'],
    [{}, 'de'],
    [{ b: 1, a: 'x', 'a b': 2, B: 3 }, 'd1:Bi3e1:a1:x3:a bi2e1:bi1ee'],
  ]
  for (const [value, expected] of cases) {
    assert.deepEqual(Buffer.from(bencode(value)), typeof expected === 'string' ? Buffer.from(expected, 'utf8') : expected, String(expected))
  }
  assert.throws(() => bencode(1.5), { message: 'bencode: 1.5 is not an integer' })
})

test('piece length: smallest power of two from 16 KiB to 4 MiB that keeps pieces at or under 256', () => {
  const cases: [number, number][] = [
    [0, 16 * KIB],
    [1, 16 * KIB],
    [4 * MIB, 16 * KIB],
    [4 * MIB + 1, 32 * KIB],
    [32 * MIB, 128 * KIB],
    [32 * MIB + 1, 256 * KIB],
    [50 * MIB, 256 * KIB],
    [64 * MIB, 256 * KIB],
    [64 * MIB + 1, 512 * KIB],
    [256 * MIB, 1 * MIB],
    [1024 * MIB, 4 * MIB],
    [64 * 1024 * MIB, 4 * MIB],
  ]
  for (const [size, expected] of cases) assert.equal(choosePieceLength(size), expected, String(size))
})

test('the sha256 comment round-trips and nothing else parses as one', () => {
  const sha = 'f'.repeat(64)
  assert.equal(formatSha256Comment(sha), `murder-sha256:${sha}`)
  assert.equal(parseSha256Comment(formatSha256Comment(sha)), sha)
  for (const comment of [undefined, '', 'hello', `murder-sha256:${'F'.repeat(64)}`, `murder-sha256:${sha}0`, `x murder-sha256:${sha}`]) {
    assert.equal(parseSha256Comment(comment), undefined, String(comment))
  }
})

test('buildTorrent makes a private single-file torrent that parse-torrent reads back, same info hash', async () => {
  const { torrent, infoHash, pieceHashes: hashes, sha256 } = sampleTorrent('Deploy1.tgz', 7)
  const parsed = await parseTorrent(torrent)
  assert.equal(parsed.infoHash, infoHash)
  assert.equal(parsed.name, 'Deploy1.tgz')
  assert.equal(parsed.length, SAMPLE_PAYLOAD_BYTES)
  assert.equal(parsed.pieceLength, SAMPLE_PIECE_BYTES)
  assert.deepEqual(parsed.pieces, hashes.map((hash) => hash.toString('hex')))
  assert.deepEqual(parsed.announce, ['http://10.0.0.1:8998/announce'])
  assert.equal(parsed.private, true)
  assert.equal(parseSha256Comment(parsed.comment), sha256)
})
