import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { MurderTracker, readAnnouncedIp, UNKNOWN_TORRENT } from '../../lib/torrent/agent/tracker.ts'

const KNOWN = '11'.repeat(20)
const FLEET = '33'.repeat(20)
let directory = ''
let tracker: MurderTracker
let port = 0

before(async () => {
  directory = mkdtempSync('/tmp/murder-tracker-test-')
  mkdirSync(join(directory, 'whitelist'))
  writeFileSync(join(directory, 'whitelist', KNOWN), '')
  writeFileSync(join(directory, 'whitelist', FLEET), '')
  tracker = new MurderTracker({ intervalMs: 10_000, whitelistDirectory: join(directory, 'whitelist') })
  tracker.on('warning', () => {})
  await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve))
  const address = tracker.http?.address()
  port = typeof address === 'object' && address ? address.port : 0
})

after(async () => {
  await new Promise<void>((resolve) => {
    tracker.close(() => resolve())
    tracker.http?.closeAllConnections()
  })
  rmSync(directory, { recursive: true, force: true })
})

function get(path: string, headers: Record<string, string> = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve(Buffer.concat(chunks)))
    })
    req.on('error', reject)
    req.end()
  })
}

const escapeHex = (hex: string) => hex.replace(/../g, (byte) => `%${byte}`)

function announce(options: { infoHash?: string; peer: number; port: number; ip?: string; left?: number; event?: string }): string {
  const query = [
    `info_hash=${escapeHex(options.infoHash ?? KNOWN)}`,
    `peer_id=${escapeHex(options.peer.toString(16).padStart(40, '0'))}`,
    `port=${options.port}`,
    `left=${options.left ?? 100}`,
    'compact=1',
    ...(options.ip ? [`ip=${options.ip}`] : []),
    ...(options.event ? [`event=${options.event}`] : []),
  ]
  return `/announce?${query.join('&')}`
}

/** ip:port of each peer in a compact announce response. */
function peersOf(body: Buffer): string[] {
  const text = body.toString('latin1')
  const match = /5:peers(\d+):/.exec(text)
  if (!match) throw new Error(`no peers in ${text}`)
  const start = match.index + match[0].length
  const bytes = body.subarray(start, start + Number(match[1]))
  const peers: string[] = []
  for (let at = 0; at + 6 <= bytes.length; at += 6) peers.push(`${[...bytes.subarray(at, at + 4)].join('.')}:${bytes.readUInt16BE(at + 4)}`)
  return peers.sort()
}

test('readAnnouncedIp takes an IP literal from ip= and nothing else', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['/announce?ip=10.0.0.7&port=1', '10.0.0.7'],
    ['/announce?port=1&ip=%3A%3A1', '::1'],
    ['/announce?ip=::ffff:10.0.0.7', '10.0.0.7'],
    ['/announce?ip=evil.example', undefined],
    ['/announce?ip=', undefined],
    ['/announce', undefined],
    [undefined, undefined],
  ]
  for (const [url, expected] of cases) assert.equal(readAnnouncedIp(url), expected, String(url))
})

test('a torrent that is not whitelisted is refused with the fix in the message', async () => {
  const body = await get(announce({ infoHash: '22'.repeat(20), peer: 1, port: 7001, ip: '10.9.0.1' }))
  assert.equal(body.toString(), `d14:failure reason${UNKNOWN_TORRENT.length}:${UNKNOWN_TORRENT}e`)
})

test('a scrape of every torrent is refused: the info hashes it would list are what a stranger needs to join', async () => {
  await get(announce({ peer: 31, port: 7031, ip: '10.3.0.1', event: 'started' }))
  // However the URL is written: bittorrent-tracker reads only up to a second `?`, and 1000 keys.
  const manyKeys = Array.from({ length: 1000 }, (_, index) => `a${index}=`).join('&')
  for (const path of ['/scrape', '/scrape?x=1', `/scrape?a?&info_hash=${escapeHex(KNOWN)}`, `/scrape?${manyKeys}&info_hash=${escapeHex(KNOWN)}`]) {
    const body = (await get(path)).toString('latin1')
    assert.equal(body, 'd14:failure reason48:scrape one torrent at a time: give its info_hashe', path)
    assert.ok(!body.includes(Buffer.from(KNOWN, 'hex').toString('latin1')), path)
  }
  // One named by its info hash is answered.
  assert.match((await get(`/scrape?info_hash=${escapeHex(KNOWN)}`)).toString('latin1'), /^d5:filesd20:/)
})

test('malformed announces get a failure reason and the tracker keeps serving', async () => {
  const bad = [
    '/announce?info_hash=short&peer_id=x&port=1',
    `/announce?info_hash=${escapeHex(KNOWN)}&peer_id=${escapeHex('00'.repeat(20))}&port=0`,
    `/announce?info_hash=${escapeHex(KNOWN)}&peer_id=${escapeHex('00'.repeat(20))}&port=99999`,
    `${announce({ peer: 5, port: 7005 })}&event=bogus`,
    '/announce',
    '/scrape?info_hash=%zz',
    '/nothing-here',
    '/announce?%%%%',
  ]
  for (const path of bad) assert.match((await get(path)).toString('latin1'), /failure reason/, path)
  assert.match((await get(announce({ peer: 6, port: 7006, ip: '10.9.0.6' }))).toString('latin1'), /8:intervali10e/)
})

test('clients get each other but never themselves, and each pair one way only', async () => {
  assert.deepEqual(peersOf(await get(announce({ peer: 11, port: 7011, ip: '10.1.0.1', event: 'started' }))).filter((p) => p.startsWith('10.1.')), [])
  assert.deepEqual(peersOf(await get(announce({ peer: 12, port: 7012, ip: '10.1.0.2', event: 'started' }))).filter((p) => p.startsWith('10.1.')), ['10.1.0.1:7011'])
  // The first client announces again: the second already dials it, so it is not handed the second.
  assert.deepEqual(peersOf(await get(announce({ peer: 11, port: 7011, ip: '10.1.0.1' }))).filter((p) => p.startsWith('10.1.')), [])
  // A client on the same IP as another (another port) is not handed it either.
  assert.deepEqual(peersOf(await get(announce({ peer: 13, port: 7013, ip: '10.1.0.2', event: 'started' }))).filter((p) => p.startsWith('10.1.')), ['10.1.0.1:7011'])
})

test('the address is the announced ip= or the socket, never an X-Forwarded-For sent by the client', async () => {
  await get(announce({ peer: 21, port: 7021 }), { 'x-forwarded-for': '6.6.6.6' })
  const peers = peersOf(await get(announce({ peer: 22, port: 7022, ip: '10.2.0.2' })))
  assert.ok(peers.includes('127.0.0.1:7021'), peers.join(' '))
  assert.ok(!peers.some((peer) => peer.startsWith('6.6.6.6')))
})

test('complete clients are handed no peers; stopped clients are forgotten', async () => {
  assert.deepEqual(peersOf(await get(announce({ peer: 31, port: 7031, ip: '10.3.0.1', left: 0, event: 'started' }))), [])
  await get(announce({ peer: 12, port: 7012, ip: '10.1.0.2', event: 'stopped' }))
  const peers = peersOf(await get(announce({ peer: 32, port: 7032, ip: '10.3.0.2', event: 'started' })))
  assert.ok(peers.includes('10.3.0.1:7031'), 'the seeder')
  assert.ok(!peers.includes('10.1.0.2:7012'), 'the stopped client')
})

test('a swarm remembers every host of a big deploy, the seeder first (bittorrent-tracker keeps only the last 1000)', async () => {
  await get(announce({ infoHash: FLEET, peer: 1_000_000, port: 6000, ip: '10.5.255.254', left: 0, event: 'started' }))
  for (let i = 0; i < 1100; i++) await get(announce({ infoHash: FLEET, peer: 1_000_001 + i, port: 6001, ip: `10.5.${i >> 8}.${i & 255}`, event: 'started' }))
  const body = await get(announce({ infoHash: FLEET, peer: 2_000_000, port: 6002, ip: '10.6.0.1', event: 'started' }))
  assert.match(body.toString('latin1'), /^d8:completei1e10:incompletei1101e/)
})
