import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { encryptRelease } from '../../lib/deploy/release-source.ts'
import { formatKeyLine, newCipherKey, parseKeyLine, type PayloadKey } from '../../lib/torrent/agent/payload-cipher.ts'
import { readKeyLine, unpackPayload } from '../../lib/torrent/agent/unpack.ts'
import { sampleRelease } from '../helpers/sample-release.ts'

/** A key of no release: right form, wrong bytes. */
function strangerKey(): PayloadKey {
  return { ...newCipherKey(), plainSha256: 'ab'.repeat(32) }
}

/** A release tgz holding app.js and config/secret.yml, and where to unpack it. */
function release(): { dir: string; tgz: string; into: string } {
  const { dir, tgz } = sampleRelease('payload-cipher-', 'console.log("v2")\n')
  const into = join(dir, 'into')
  mkdirSync(into)
  return { dir, tgz, into }
}

test('a release encrypted for the swarm holds none of its plain bytes, is 0600, and unpacks with its key', async () => {
  const { tgz, into } = release()
  const sealed = await encryptRelease(tgz)
  try {
    const plain = readFileSync(tgz)
    const cipher = readFileSync(sealed.path)
    assert.equal(cipher.length, plain.length)
    assert.notDeepEqual(cipher.subarray(0, 2), plain.subarray(0, 2))
    assert.equal(cipher.indexOf(plain.subarray(10, 26)), -1)
    assert.equal(statSync(sealed.path).mode & 0o777, 0o600)
    const input = new PassThrough()
    input.end(formatKeyLine(sealed.key))
    await unpackPayload(sealed.path, into, { key: await readKeyLine(input) })
    assert.equal(readFileSync(join(into, 'config', 'secret.yml'), 'utf8'), 'password: hunter2\n')
    assert.deepEqual(readdirSync(into).sort(), ['app.js', 'config'])
  } finally {
    sealed.remove()
  }
  assert.throws(() => statSync(sealed.path), { code: 'ENOENT' })
})

test('another key is said to be the wrong key, and nothing is extracted', async () => {
  const { tgz, into } = release()
  const sealed = await encryptRelease(tgz)
  try {
    await assert.rejects(unpackPayload(sealed.path, into, { key: strangerKey() }), {
      message: `${sealed.path} did not decrypt to a gzip archive: the key does not match it; deploy again.`,
    })
    assert.deepEqual(readdirSync(into), [])
  } finally {
    sealed.remove()
  }
})

test('a payload that decrypts but does not unpack names gzip\'s or tar\'s complaint', async () => {
  const { dir, into } = release()
  // gzip's magic, then garbage: past the key check, refused by gzip.
  const damaged = join(dir, 'damaged.tgz')
  writeFileSync(damaged, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(64, 7)]))
  // A sound gzip stream of something that is no tar archive: refused by tar.
  const notTar = join(dir, 'not-tar.tgz')
  writeFileSync(notTar, gzipSync(Buffer.alloc(4096, 'x')))
  for (const [path, complaint] of [[damaged, /: gzip: /], [notTar, /: tar: This does not look like a tar archive|: tar: Skipping to next header/]] as const) {
    const sealed = await encryptRelease(path)
    try {
      await assert.rejects(unpackPayload(sealed.path, into, { key: sealed.key }), (error: Error) => error.message.startsWith(`cannot unpack ${sealed.path} into ${into}: `) && complaint.test(error.message))
    } finally {
      sealed.remove()
    }
  }
  await assert.rejects(unpackPayload(join(dir, 'missing'), into, { key: strangerKey() }), { message: /^cannot read .*missing: ENOENT/ })
})

test('an archive that is not the one the controller encrypted fails at its checksum, once tar has written it', async () => {
  const { tgz, into } = release()
  const sealed = await encryptRelease(tgz)
  try {
    const other = { ...sealed.key, plainSha256: 'cd'.repeat(32) }
    await assert.rejects(unpackPayload(sealed.path, into, { key: other }), {
      message: `${sealed.path} did not decrypt to the release the controller sent (sha256 ${sealed.key.plainSha256}, not ${'cd'.repeat(32)}): the key does not match it, or the payload changed on this host; deploy again.`,
    })
  } finally {
    sealed.remove()
  }
})

test('a gzip checksum that does not match fails, as tar -xzf fails; bytes after the archive\'s end do not', async () => {
  const { dir, into } = release()
  const archive = execFileSync('tar', ['-cf', '-', '-C', join(dir, 'src'), '.'])
  // Padding after tar's end-of-archive blocks: tar stops reading there, the pipe breaks, all is well.
  const padded = join(dir, 'padded.tgz')
  writeFileSync(padded, gzipSync(Buffer.concat([archive, Buffer.alloc(1024 * 1024)])))
  const sealedPadded = await encryptRelease(padded)
  try {
    await unpackPayload(sealedPadded.path, into, { key: sealedPadded.key })
    assert.equal(readFileSync(join(into, 'app.js'), 'utf8'), 'console.log("v2")\n')
  } finally {
    sealedPadded.remove()
  }
  // The last 8 bytes of a gzip stream are its CRC-32 and length: one flipped, the stream is damaged.
  const damaged = gzipSync(archive)
  damaged[damaged.length - 8] = (damaged[damaged.length - 8] ?? 0) ^ 0xff
  const badCrc = join(dir, 'bad-crc.tgz')
  writeFileSync(badCrc, damaged)
  for (let attempt = 0; attempt < 5; attempt++) {
    const sealed = await encryptRelease(badCrc)
    try {
      await assert.rejects(unpackPayload(sealed.path, join(dir, 'into'), { key: sealed.key }), { message: /: gzip: incorrect data check$/ })
    } finally {
      sealed.remove()
    }
  }
})

test('a host without tar is told to install it', async () => {
  const { tgz, into } = release()
  const sealed = await encryptRelease(tgz)
  const path = process.env['PATH']
  process.env['PATH'] = '/nonexistent'
  try {
    await assert.rejects(unpackPayload(sealed.path, into, { key: sealed.key }), { message: /^cannot run tar on this host \(spawn tar ENOENT\); install tar, which the deploy needs to unpack a release\.$/ })
  } finally {
    process.env['PATH'] = path
    sealed.remove()
  }
})

test('the key line round-trips, and a line of another form or size is refused by name', async () => {
  const key = strangerKey()
  assert.deepEqual(parseKeyLine(formatKeyLine(key)), key)
  assert.throws(() => parseKeyLine(''), { message: 'unpack: stdin holds no key line; the controller sends it (swarm_encryption)' })
  assert.throws(() => parseKeyLine('{"v":2,"cipher":"aes-256-ctr"}'), { message: /^unpack: a key line of another form \(\{"v":2,"cipher":"aes-256-ctr"\}\)/ })
  const short = JSON.parse(formatKeyLine(key)) as Record<string, unknown>
  short['key'] = 'ab'
  assert.throws(() => parseKeyLine(JSON.stringify(short)), { message: 'unpack: the key line needs a 32-byte key, a 16-byte iv and the archive\'s sha256, in hex' })
  const noSum = JSON.parse(formatKeyLine(key)) as Record<string, unknown>
  delete noSum['sha256']
  assert.throws(() => parseKeyLine(JSON.stringify(noSum)), { message: /needs a 32-byte key, a 16-byte iv and the archive's sha256/ })
  // What stdin holds: nothing, or far too much (read no further than 4 KiB).
  const empty = new PassThrough()
  empty.end()
  await assert.rejects(readKeyLine(empty), { message: /^unpack: stdin holds no key line/ })
  const flood = new PassThrough()
  flood.end(Buffer.alloc(1024 * 1024, 'x'))
  await assert.rejects(readKeyLine(flood), { message: /^unpack: stdin holds no key line/ })
})
