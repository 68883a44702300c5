import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import parseTorrent from 'parse-torrent'
import { bencode, buildTorrent, formatSha256Comment } from '../../lib/torrent/agent/torrent-file.ts'
import { readTorrentMeta } from '../../lib/torrent/agent/torrent-meta.ts'
import { SAMPLE_ANNOUNCE, SAMPLE_PAYLOAD_BYTES, SAMPLE_PIECE_BYTES, sampleTorrent } from '../helpers/sample-torrent.ts'

const KIB = 1024
const directory = mkdtempSync(join(tmpdir(), 'murder-meta-'))

function writeTorrent(name: string, bytes: Uint8Array): string {
  const path = join(directory, name)
  writeFileSync(path, bytes)
  return path
}

test('readTorrentMeta reads what make-torrent writes, with the info hash parse-torrent computes', async () => {
  const { torrent, infoHash, sha256 } = sampleTorrent('Deploy7.tgz', 3)
  const meta = await readTorrentMeta(writeTorrent('good.torrent', torrent))
  assert.equal(meta.infoHash, infoHash)
  assert.equal(meta.infoHash, (await parseTorrent(torrent)).infoHash)
  assert.deepEqual(
    { name: meta.name, sizeBytes: meta.sizeBytes, pieceLengthBytes: meta.pieceLengthBytes, pieces: meta.pieces, sha256: meta.sha256, announce: meta.announce },
    { name: 'Deploy7.tgz', sizeBytes: SAMPLE_PAYLOAD_BYTES, pieceLengthBytes: SAMPLE_PIECE_BYTES, pieces: 3, sha256, announce: SAMPLE_ANNOUNCE }
  )
  assert.ok(Buffer.from(meta.file).equals(Buffer.from(torrent)))
})

test('readTorrentMeta reads the torrent of an empty payload (length 0, no pieces)', async () => {
  const { torrent, infoHash } = buildTorrent({
    name: 'empty.bin',
    announce: 'http://10.0.0.1:8998/announce',
    sha256: createHash('sha256').digest('hex'),
    sizeBytes: 0,
    pieceLengthBytes: 16 * KIB,
    pieceHashes: new Uint8Array(0),
    createdAtMs: 1_700_000_000_000,
    createdBy: 'murder-agent/test',
  })
  const meta = await readTorrentMeta(writeTorrent('empty.torrent', torrent))
  assert.deepEqual({ infoHash: meta.infoHash, sizeBytes: meta.sizeBytes, pieces: meta.pieces }, { infoHash, sizeBytes: 0, pieces: 0 })
})

test('readTorrentMeta names the file and the fix for what it cannot use', async () => {
  const info = { name: 'x.tgz', length: 10, 'piece length': 16 * KIB, pieces: new Uint8Array(20) }
  const cases: [string, Uint8Array, RegExp][] = [
    ['garbage.torrent', Buffer.from('not bencode at all'), /garbage\.torrent is not a torrent file .*run murder:create_torrent again/],
    ['noinfo.torrent', bencode({ announce: 'http://t/announce' }), /noinfo\.torrent is not a torrent file \(no info dictionary\)/],
    ['multi.torrent', bencode({ info: { name: 'dir', 'piece length': 16 * KIB, pieces: new Uint8Array(20), files: [] } }), /multi\.torrent is not a torrent file \(not a single-file torrent/],
    ['foreign.torrent', bencode({ announce: 'http://t/announce', info }), /foreign\.torrent was not made by murder/],
    ['notracker.torrent', bencode({ comment: formatSha256Comment('a'.repeat(64)), info }), /notracker\.torrent was not made by murder/],
  ]
  for (const [name, bytes, message] of cases) {
    await assert.rejects(readTorrentMeta(writeTorrent(name, bytes)), message, name)
  }
  await assert.rejects(readTorrentMeta(join(directory, 'missing.torrent')), /does not exist on this host; run murder:create_torrent/)
})
