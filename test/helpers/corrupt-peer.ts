// A hostile BitTorrent peer for the fault tests: it announces itself complete to the tracker, says
// it has every piece, and answers every request with random bytes. No host may accept its data.
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import Wire from 'bittorrent-protocol'
import { readTorrentMeta } from '../../lib/torrent/agent/torrent-meta.ts'

export interface CorruptPeer {
  /** Bytes of garbage it sent. */
  sentBytes(): number
  /** Peers that connected to it. */
  connections(): number
  stop(): Promise<void>
}

export async function startCorruptPeer(torrentPath: string, ip: string): Promise<CorruptPeer> {
  const meta = await readTorrentMeta(torrentPath)
  const peerId = Buffer.from(`-XX0001-${randomBytes(6).toString('hex')}`).toString('hex')
  const allPieces = new Uint8Array(Math.ceil(meta.pieces / 8)).fill(0xff)
  const spare = meta.pieces % 8
  if (spare !== 0) allPieces[allPieces.length - 1] = (0xff << (8 - spare)) & 0xff
  let sent = 0
  let connected = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    connected += 1
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const wire = new Wire()
    socket.on('error', () => wire.destroy())
    wire.on('error', () => socket.destroy())
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (infoHash) => {
      wire.handshake(infoHash, peerId)
      wire.bitfield(allPieces)
    })
    wire.on('interested', () => wire.unchoke())
    wire.on('request', (_index, _offset, length, respond) => {
      sent += length
      respond(null, randomBytes(length))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, ip, resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  // One announce as a complete client: the tracker hands it to downloading peers like a seeder.
  const infoHash = Buffer.from(meta.infoHash, 'hex')
  const query = [
    `info_hash=${escapeBytes(infoHash)}`,
    `peer_id=${escapeBytes(Buffer.from(peerId, 'hex'))}`,
    `port=${port}`,
    'uploaded=0',
    'downloaded=0',
    'left=0',
    'compact=1',
    'event=started',
    `ip=${ip}`,
  ].join('&')
  const response = await fetch(`${meta.announce}?${query}`)
  const body = Buffer.from(await response.arrayBuffer()).toString('latin1')
  if (!response.ok || body.includes('failure reason')) throw new Error(`the tracker refused the corrupt peer: ${body}`)
  return {
    sentBytes: () => sent,
    connections: () => connected,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

function escapeBytes(bytes: Buffer): string {
  return [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')
}
