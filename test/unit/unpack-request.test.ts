// A held command's `unpack` request (agent/unpack-request.ts): the payload a peer or seeder holds,
// put into a directory by that process, plain or encrypted, and what it answers when it cannot.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encryptRelease } from '../../lib/deploy/release-source.ts'
import { answerUnpackRequest } from '../../lib/torrent/agent/unpack-request.ts'
import { formatKeyLine, newCipherKey } from '../../lib/torrent/agent/payload-cipher.ts'
import { formatUnpackRequest, isUnpackRequest, parseEvent, parseUnpackRequest, type UnpackRequest } from '../../lib/torrent/protocol.ts'
import { sampleRelease } from '../helpers/sample-release.ts'
import { heldBackPayload, untilWritingBegins } from '../helpers/held-back-payload.ts'

const release = () => sampleRelease('unpack-request-', 'console.log("v3")\n')

const ask = (payload: string | undefined, request: UnpackRequest) => answerUnpackRequest(payload, formatUnpackRequest(request))

test('a plain tgz is unpacked into a new directory and renamed into place; the answer parses as an event', async () => {
  const { dir, tgz } = release()
  const [into, renameTo] = [join(dir, 'releases', '.r1.incoming'), join(dir, 'releases', 'r1')]
  const answer = await ask(tgz, { into, renameTo })
  assert.deepEqual(answer, { type: 'unpacked', into, renamedTo: renameTo })
  assert.deepEqual(parseEvent(JSON.stringify(answer)), answer)
  assert.equal(readFileSync(join(renameTo, 'config', 'secret.yml'), 'utf8'), 'password: hunter2\n')
  assert.equal(existsSync(into), false)
})

test('emptyFirst replaces what the directory held; without it, what was there stays beside the release', async () => {
  const { dir, tgz } = release()
  const into = join(dir, 'out')
  mkdirSync(into)
  writeFileSync(join(into, 'old.txt'), 'old')
  assert.equal((await ask(tgz, { into })).type, 'unpacked')
  assert.deepEqual(readdirSync(into).sort(), ['app.js', 'config', 'old.txt'])
  assert.equal((await ask(tgz, { into, emptyFirst: true })).type, 'unpacked')
  assert.deepEqual(readdirSync(into).sort(), ['app.js', 'config'])
})

test('an encrypted release unpacks with its key; another key fails in one line that quotes no key, and leaves the directory empty', async () => {
  const { dir, tgz } = release()
  const sealed = await encryptRelease(tgz)
  try {
    const into = join(dir, 'sealed')
    const right = await ask(sealed.path, { into, keyLine: formatKeyLine(sealed.key).trim() })
    assert.equal(right.type, 'unpacked')
    assert.equal(readFileSync(join(into, 'app.js'), 'utf8'), 'console.log("v3")\n')
    const stranger = { ...newCipherKey(), plainSha256: 'ab'.repeat(32) }
    const strangerLine = formatKeyLine(stranger).trim()
    const wrong = await ask(sealed.path, { into: join(dir, 'wrong'), keyLine: strangerLine })
    assert.deepEqual(wrong, { type: 'unpackFailed', message: `${sealed.path} did not decrypt to a gzip archive: the key does not match it; deploy again.` })
    assert.deepEqual(readdirSync(join(dir, 'wrong')), [])
    // A checksum that fails once tar has written the files: they go.
    const otherSum = formatKeyLine({ ...sealed.key, plainSha256: 'cd'.repeat(32) }).trim()
    const changed = await ask(sealed.path, { into: join(dir, 'changed'), renameTo: join(dir, 'changed-release'), keyLine: otherSum })
    assert.equal(changed.type, 'unpackFailed')
    assert.match(String((changed as { message: string }).message), /did not decrypt to the release the controller sent/)
    assert.deepEqual(readdirSync(join(dir, 'changed')), [])
    assert.equal(existsSync(join(dir, 'changed-release')), false, 'nothing renamed into place')
    for (const answer of [wrong, changed]) assert.doesNotMatch(JSON.stringify(answer), new RegExp(`${stranger.key.toString('hex')}|${sealed.key.key.toString('hex')}`))
  } finally {
    sealed.remove()
  }
})

test('a plain payload that is not a gzip archive is said so; tar\'s warnings come back with the answer', async () => {
  const { dir } = release()
  const notGzip = join(dir, 'plain.bin')
  writeFileSync(notGzip, 'not an archive')
  assert.deepEqual(await ask(notGzip, { into: join(dir, 'a') }), { type: 'unpackFailed', message: `${notGzip} is not a gzip archive; run murder:create_torrent (or deploy) again.` })
  // Member names with a leading `/`: GNU tar extracts them relative and warns.
  const absolute = join(dir, 'absolute.tgz')
  execFileSync('tar', ['-czPf', absolute, join(dir, 'src', 'app.js')])
  const answer = await ask(absolute, { into: join(dir, 'b') })
  assert.equal(answer.type, 'unpacked')
  assert.match(String((answer as { warnings?: string[] }).warnings?.[0]), /^tar: Removing leading `\/' from member names$/)
  assert.equal(existsSync(join(dir, 'b', dir.slice(1), 'src', 'app.js')), true)
})

test('what cannot be done is one line: no payload, a directory that cannot be made, a rename onto a release that exists', async () => {
  const { dir, tgz } = release()
  assert.deepEqual(await ask(undefined, { into: join(dir, 'x') }), { type: 'unpackFailed', message: 'this command holds no payload to unpack' })
  writeFileSync(join(dir, 'file'), '')
  const blocked = await ask(tgz, { into: join(dir, 'file', 'x') })
  assert.equal(blocked.type, 'unpackFailed')
  assert.match(String((blocked as { message: string }).message), new RegExp(`^cannot create ${join(dir, 'file', 'x')}: ENOTDIR`))
  mkdirSync(join(dir, 'taken'))
  writeFileSync(join(dir, 'taken', 'keep'), '')
  const renamed = await ask(tgz, { into: join(dir, 'incoming'), renameTo: join(dir, 'taken') })
  assert.equal(renamed.type, 'unpackFailed')
  assert.match(String((renamed as { message: string }).message), new RegExp(`^cannot rename ${join(dir, 'incoming')} to ${join(dir, 'taken')}: ENOTEMPTY`))
  assert.deepEqual(readdirSync(join(dir, 'taken')), ['keep'], 'nothing moved inside it, as mv would have')
})

test('requests are told from other lines; a malformed one is refused without quoting it', async () => {
  assert.equal(isUnpackRequest('stop'), false)
  assert.equal(isUnpackRequest('unpack {'), true)
  assert.equal(isUnpackRequest(formatUnpackRequest({ into: '/srv/a' })), true)
  assert.deepEqual(parseUnpackRequest(formatUnpackRequest({ into: '/srv/a', renameTo: '/srv/b', emptyFirst: true, keyLine: '{"v":1}' })), { into: '/srv/a', renameTo: '/srv/b', emptyFirst: true, keyLine: '{"v":1}' })
  const refusals: [string, string][] = [
    ['unpack {"into":"/srv/a","keyLine":"SECRET', 'an unpack request that is not JSON'],
    ['unpack ["SECRET"]', 'an unpack request that is not a JSON object'],
    ['unpack {"into":"srv/a"}', 'an unpack request needs "into", an absolute path'],
    ['unpack {"into":"/srv/a","renameTo":"b"}', 'an unpack request\'s "renameTo" must be an absolute path'],
    ['unpack {"into":"/srv/a","emptyFirst":"yes"}', 'an unpack request\'s "emptyFirst" must be true or false'],
    ['unpack {"into":"/srv/a","keyLine":7}', 'an unpack request\'s "keyLine" must be a string'],
  ]
  for (const [line, message] of refusals) assert.deepEqual(await answerUnpackRequest('/nonexistent.tgz', line), { type: 'unpackFailed', message })
  const { dir, tgz } = release()
  const badKey = await answerUnpackRequest(tgz, formatUnpackRequest({ into: join(dir, 'never'), keyLine: '{"SECRET"' }))
  assert.equal(badKey.type, 'unpackFailed')
  assert.doesNotMatch(JSON.stringify(badKey), /SECRET/)
  assert.equal(existsSync(join(dir, 'never')), false, 'a bad key line touches nothing')
})

test('a stop signal ends an unpacking half-way: tar killed, the directory emptied, nothing renamed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unpack-request-'))
  const payload = join(dir, 'big.tgz')
  const stream = heldBackPayload(payload)
  try {
    const [into, renameTo] = [join(dir, 'incoming'), join(dir, 'release')]
    const stopping = new AbortController()
    const answering = answerUnpackRequest(payload, formatUnpackRequest({ into, renameTo }), stopping.signal)
    await untilWritingBegins(into)
    stopping.abort()
    stream.finish()
    assert.deepEqual(await answering, { type: 'unpackFailed', message: `cannot unpack ${payload} into ${into}: stopped before it finished (its peer or seeder was stopped, or the run asking for it ended); run it again` })
    assert.deepEqual(readdirSync(into), [])
    assert.equal(existsSync(renameTo), false)
    // Stopped before it began: the same answer, nothing unpacked (a whole archive: nothing else stops it).
    const { tgz } = release()
    const already = await answerUnpackRequest(tgz, formatUnpackRequest({ into: join(dir, 'late') }), stopping.signal)
    assert.equal(already.type, 'unpackFailed')
    assert.deepEqual(readdirSync(join(dir, 'late')), [])
  } finally {
    stream.finish()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a tar that fails is named by its error, not by a warning before it', async () => {
  const { dir } = release()
  // A leading `/` (a warning), then a member that cannot be written: a directory where its file goes.
  const source = join(dir, 'src', 'app.js')
  const archive = join(dir, 'mixed.tgz')
  execFileSync('tar', ['-czPf', archive, source])
  const into = join(dir, 'into')
  mkdirSync(join(into, source.slice(1)), { recursive: true })
  writeFileSync(join(into, source.slice(1), 'keep'), '')
  const answer = await ask(archive, { into })
  assert.equal(answer.type, 'unpackFailed')
  const message = String((answer as { message: string }).message)
  assert.match(message, new RegExp(`^cannot unpack ${archive} into ${into}: tar: `))
  assert.doesNotMatch(message, /Removing leading|Exiting with failure status/)
})
