// A peer's HAVE messages as joinSwarm sends them over real TCP on loopback, to three scripted
// BitTorrent peers: the seeder (it shows one piece, as super-seeding does), a peer that holds
// every piece, and a peer that holds none. No tracker: the peer under test dials them directly.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { makePeerId } from '../../lib/torrent/agent/peer-id.ts'
import { joinSwarm } from '../../lib/torrent/agent/swarm-client.ts'
import { SAMPLE_PAYLOAD_BYTES, SAMPLE_PIECE_BYTES, sampleTorrent } from '../helpers/sample-torrent.ts'

const FILL = 0x5a
const SEEDER_IP = '127.0.0.2'
const PIECES = Math.ceil(SAMPLE_PAYLOAD_BYTES / SAMPLE_PIECE_BYTES)
// Nothing listens on port 1: announces fail at once, and the peers come from addPeer instead.
const { torrent, infoHash } = sampleTorrent('Haves.tgz', FILL, 'http://127.0.0.1:1/announce')

interface ScriptedPeer {
  address: string
  /** Piece indexes of the HAVE messages it received. */
  haves: number[]
  isConnected(): boolean
  stop(): Promise<void>
}

/** Shows `pieces` in its bitfield; with `serves`, unchokes whoever is interested and answers with the payload's bytes. */
async function scriptedPeer(ip: string, role: 'seed' | 'peer', pieces: number[], serves: boolean): Promise<ScriptedPeer> {
  const haves: number[] = []
  const sockets = new Set<Socket>()
  let isConnected = false
  const bitfield = new Uint8Array(Math.ceil(PIECES / 8))
  for (const piece of pieces) bitfield[piece >> 3]! |= 0x80 >> (piece & 7)
  const server = createServer((socket) => {
    sockets.add(socket)
    const wire = new Wire()
    socket.on('error', () => wire.destroy())
    wire.on('error', () => socket.destroy())
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', () => {
      wire.handshake(infoHash, makePeerId(role))
      wire.bitfield(bitfield)
      isConnected = true
    })
    wire.on('have', (index) => haves.push(Number(index)))
    if (!serves) return
    wire.on('interested', () => wire.unchoke())
    wire.on('request', (_piece, _offset, length, respond) => respond(null, Buffer.alloc(length, FILL)))
  })
  await new Promise<void>((resolve) => server.listen(0, ip, resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    address: `${ip}:${port}`,
    haves,
    isConnected: () => isConnected,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !condition()) await new Promise((resolve) => setTimeout(resolve, 50))
  return condition()
}

const cleanups: (() => Promise<void>)[] = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

test('a verified piece is announced to the seeder and to peers that lack it, not to peers that hold it', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'murder-haves-'))
  cleanups.push(async () => rmSync(directory, { recursive: true, force: true }))
  const holdsAll = await scriptedPeer('127.0.0.3', 'peer', [0, 1, 2], false)
  const holdsNone = await scriptedPeer('127.0.0.4', 'peer', [], false)
  const seeder = await scriptedPeer(SEEDER_IP, 'seed', [0], true)
  cleanups.push(holdsAll.stop, holdsNone.stop, seeder.stop)

  const session = joinSwarm(torrent, directory, { role: 'peer', announceIp: '127.0.0.5', port: 0, seederIp: SEEDER_IP, log: () => {} })
  cleanups.push(() => session.destroy())
  session.torrent.on('warning', () => {}) // the announce that cannot reach a tracker
  const verified: number[] = []
  session.torrent.on('verified', (index: number) => verified.push(index))
  await new Promise((resolve) => session.torrent.once('ready', resolve))

  // Both peers are connected before the seeder hands out piece 0, so both are offered its HAVE.
  session.torrent.addPeer(holdsAll.address)
  session.torrent.addPeer(holdsNone.address)
  assert.ok(await waitFor(() => holdsAll.isConnected() && holdsNone.isConnected() && session.torrent.wires.length === 2, 10_000), 'the scripted peers never connected')
  session.torrent.addPeer(seeder.address)

  assert.ok(await waitFor(() => seeder.haves.length > 0 && holdsNone.haves.length > 0, 15_000), `no HAVE reached the seeder or the empty peer (verified: ${verified.join(',')})`)
  // HAVEs for one piece go out to every wire in the same turn; a stray one to holdsAll would be here by now.
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.deepEqual(verified, [0])
  assert.deepEqual(seeder.haves, [0], 'the seeder holds piece 0 yet must hear it was spread (super-seeding counts HAVEs)')
  assert.deepEqual(holdsNone.haves, [0])
  assert.deepEqual(holdsAll.haves, [], 'a peer that holds every piece was told about one')
})
