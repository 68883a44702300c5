import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { digestPayload, sha256File } from '../../lib/torrent/agent/payload-hash.ts'

const dir = mkdtempSync(join(tmpdir(), 'payload-hash-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** Several 1 MiB reads and a short last piece, so chunk and piece bounds fall apart. */
function payload(sizeBytes: number): { path: string; bytes: Buffer } {
  const bytes = randomBytes(sizeBytes)
  const path = join(dir, `payload-${sizeBytes}`)
  writeFileSync(path, bytes)
  return { path, bytes }
}

test('sha256File hashes every byte in order across reads', async () => {
  const { path, bytes } = payload(2.5 * 1024 * 1024 + 7)
  assert.equal(await sha256File(path), createHash('sha256').update(bytes).digest('hex'))
})

test('digestPayload gives the whole SHA-256, the size and each piece\'s SHA-1', async () => {
  const pieceLength = 48 * 1024 // not a divisor of the 1 MiB reads
  const { path, bytes } = payload(3 * 1024 * 1024 + 1000)
  const digest = await digestPayload(path, pieceLength)
  const expected: Buffer[] = []
  for (let start = 0; start < bytes.length; start += pieceLength) expected.push(createHash('sha1').update(bytes.subarray(start, start + pieceLength)).digest())
  assert.equal(digest.sha256, createHash('sha256').update(bytes).digest('hex'))
  assert.equal(digest.sizeBytes, bytes.length)
  assert.deepEqual(Buffer.from(digest.pieceHashes), Buffer.concat(expected))
})

test('an empty file has the empty SHA-256 and no pieces', async () => {
  const { path } = payload(0)
  const digest = await digestPayload(path, 16 * 1024)
  assert.equal(digest.sha256, createHash('sha256').digest('hex'))
  assert.equal(digest.pieceHashes.length, 0)
  assert.equal(await sha256File(path), digest.sha256)
})
