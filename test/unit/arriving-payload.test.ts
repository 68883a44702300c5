import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ArrivingPayload } from '../../lib/torrent/agent/arriving-payload.ts'

const PIECE = 16 * 1024

function payloadOf(sizeBytes: number) {
  const bytes = randomBytes(sizeBytes)
  const hashes: Buffer[] = []
  for (let start = 0; start < sizeBytes; start += PIECE) hashes.push(createHash('sha1').update(bytes.subarray(start, start + PIECE)).digest())
  const path = join(mkdtempSync('/tmp/murder-arriving-'), 'T.tgz')
  const arriving = new ArrivingPayload({ path, sizeBytes, pieceLengthBytes: PIECE, pieceHashes: Buffer.concat(hashes) })
  return { bytes, path, arriving }
}

function writeAt(path: string, bytes: Uint8Array, position: number): void {
  const fd = openSync(path, 'r+')
  writeSync(fd, bytes, 0, bytes.length, position)
  closeSync(fd)
}

test('pieces arrive front to back as their bytes match; a range still being written holds back the ones after it', async () => {
  // 3.5 pieces: the last one is short.
  const { bytes, path, arriving } = payloadOf(3 * PIECE + PIECE / 2)
  assert.deepEqual(await arriving.check(), [], 'no file yet')
  writeFileSync(path, Buffer.alloc(bytes.length))
  assert.deepEqual(await arriving.check(), [], 'the file has its full size but holds zeros')
  writeAt(path, bytes.subarray(0, PIECE), 0)
  writeAt(path, bytes.subarray(2 * PIECE), 2 * PIECE)
  assert.deepEqual(await arriving.check(), [0], 'piece 1 still holds zeros: 2 and 3 wait behind it')
  assert.ok(arriving.has(0) && !arriving.has(2))
  writeAt(path, bytes.subarray(PIECE, PIECE + 100), PIECE)
  assert.deepEqual(await arriving.check(), [], 'a partly written piece has not arrived')
  writeAt(path, bytes.subarray(PIECE, 2 * PIECE), PIECE)
  assert.deepEqual(await arriving.check(), [1, 2, 3])
  assert.equal(arriving.isComplete, true)
  assert.deepEqual(await arriving.check(), [])
})

test('a file shorter than a piece so far is not read past its end', async () => {
  const { bytes, path, arriving } = payloadOf(2 * PIECE)
  writeFileSync(path, bytes.subarray(0, PIECE + 10))
  assert.deepEqual(await arriving.check(), [0])
  writeFileSync(path, bytes)
  assert.deepEqual(await arriving.check(), [1])
})

test('an empty payload has arrived from the start', async () => {
  const { arriving } = payloadOf(0)
  assert.equal(arriving.isComplete, true)
  assert.deepEqual(await arriving.check(), [])
})
