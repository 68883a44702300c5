import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { requestLines } from '../../lib/torrent/agent/request-lines.ts'
import { readExactly, receiveTorrent } from '../../lib/torrent/agent/torrent-stdin.ts'

test('readExactly takes the first bytes across chunks and leaves what follows for the stop line', async () => {
  const input = new PassThrough()
  const torrent = Buffer.from('d8:announce4:xxxxe'.repeat(500))
  const reading = readExactly(input, torrent.length)
  // Split where the torrent ends mid-chunk: the line's first bytes arrive with the torrent's last.
  input.write(torrent.subarray(0, 1000))
  input.write(Buffer.concat([torrent.subarray(1000), Buffer.from('st')]))
  assert.deepEqual(await reading, torrent)
  const requests = requestLines(input)
  input.end('op\n')
  assert.equal(await requests.next(), 'stop')
})

test('readExactly fails with one line when stdin ends before the torrent does', async () => {
  for (const sent of ['', 'd8:announce']) {
    const input = new PassThrough()
    const reading = readExactly(input, 100)
    input.end(sent)
    await assert.rejects(reading, { message: `stdin ended after ${sent.length} of the torrent's 100 bytes (--torrent-from-stdin); the controller's connection was cut, run the task again.` })
  }
})

test('receiveTorrent writes the torrent whole, creating its directory, and leaves no part file', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'torrent-stdin-'))
  const path = join(directory, 'temp', 'T.tgz.torrent')
  const input = new PassThrough()
  input.end(Buffer.from('d4:infod6:lengthi1eee'))
  await receiveTorrent(path, 21, input)
  assert.equal(readFileSync(path, 'utf8'), 'd4:infod6:lengthi1eee')
  assert.deepEqual(readdirSync(join(directory, 'temp')), ['T.tgz.torrent'])
})

test('a torrent that cannot be written is one line naming the path, and leaves no part file', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'torrent-stdin-'))
  const blocker = join(directory, 'temp')
  writeFileSync(blocker, 'a file where the directory should be')
  const input = new PassThrough()
  input.end(Buffer.from('d4:infoe'))
  await assert.rejects(receiveTorrent(join(blocker, 'T.tgz.torrent'), 8, input), (error: Error) => {
    assert.match(error.message, new RegExp(`^cannot write the torrent to ${blocker}/T\\.tgz\\.torrent: .*; check temp_path there\\.$`))
    return true
  })
  assert.deepEqual(readdirSync(directory), ['temp'])
})

test('stdin that ends right after the torrent reads as the controller gone, not as a wait for ever', async () => {
  const input = new PassThrough()
  const torrent = Buffer.from('d8:announce4:xxxxe')
  input.end(torrent)
  assert.deepEqual(await readExactly(input, torrent.length), torrent)
  await new Promise((resolve) => setImmediate(resolve)) // the end is emitted before anyone asks for the line
  const outcome = await Promise.race([requestLines(input).next(), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 500))])
  assert.equal(outcome, undefined)
})

test('requestLines of a stdin whose end was already emitted is undefined at once', async () => {
  const input = new PassThrough()
  input.end('d8:announce')
  input.resume()
  await new Promise((resolve) => input.once('end', resolve))
  const outcome = await Promise.race([requestLines(input).next(), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 500))])
  assert.equal(outcome, undefined)
})

test('requestLines hands out each line once, in order, whether it came before or after it was asked for; then undefined', async () => {
  const input = new PassThrough()
  const requests = requestLines(input)
  input.write('unpack {"into":"/srv/a"}\n  stop  \n')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(await requests.next(), 'unpack {"into":"/srv/a"}')
  assert.equal(await requests.next(), 'stop')
  const third = requests.next()
  input.end('later\n')
  assert.equal(await third, 'later')
  assert.equal(await requests.next(), undefined)
  assert.equal(await requests.next(), undefined)
})
