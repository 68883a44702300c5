import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { Duplex } from 'streamx'
import { joinDirectly, type PeerInternals, type StreamEnd } from '../../lib/torrent/agent/direct-pipes.ts'

/** A wire stand-in: a streamx duplex that takes `delayMs` per chunk written and holds at most 2 chunks. */
function slowWire(delayMs: number) {
  const received: Buffer[] = []
  const wire = new Duplex({
    highWaterMark: 2,
    byteLength: () => 1,
    write(chunk: unknown, callback: (error: Error | null) => void) {
      received.push(chunk as Buffer)
      setTimeout(() => callback(null), delayMs)
    },
  })
  return { wire, received }
}

function peerJoining(conn: StreamEnd, wire: StreamEnd) {
  const counted = { download: 0, upload: 0 }
  const peer: PeerInternals = {
    conn,
    wire,
    destroyed: false,
    throttleGroups: { down: { getEnabled: () => false }, up: { getEnabled: () => false } },
    emit: (event, bytes) => {
      counted[event] += bytes
      return true
    },
  }
  return { peer, counted }
}

test('every chunk reaches the wire in order, counted, and the connection waits while the wire is full', async () => {
  const conn = new PassThrough()
  const { wire, received } = slowWire(5)
  const { peer, counted } = peerJoining(conn, wire as unknown as StreamEnd)
  joinDirectly(peer)
  let pausedSeen = false
  const chunks = Array.from({ length: 20 }, (_, i) => Buffer.from(`chunk ${i};`))
  for (const chunk of chunks) conn.write(chunk)
  const deadline = Date.now() + 5000
  while (received.length < chunks.length && Date.now() < deadline) {
    pausedSeen ||= conn.isPaused()
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  while (conn.isPaused() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2))
  assert.equal(Buffer.concat(received).toString(), Buffer.concat(chunks).toString())
  assert.equal(counted.download, Buffer.concat(chunks).length)
  assert.ok(pausedSeen, 'the connection was paused while the wire held 2 chunks')
  assert.equal(conn.isPaused(), false, 'and flows again once the wire drained')
})

test('what the wire sends goes out on the connection, counted as upload', async () => {
  const conn = new PassThrough()
  const wire = new Duplex({ write: (_chunk: unknown, callback: (error: Error | null) => void) => callback(null) })
  const { peer, counted } = peerJoining(conn, wire as unknown as StreamEnd)
  joinDirectly(peer)
  const sent: Buffer[] = []
  conn.on('data', (chunk: Buffer) => sent.push(chunk))
  wire.push(Buffer.from('have 3'))
  wire.push(Buffer.from('piece 3'))
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(Buffer.concat(sent).toString(), 'have 3piece 3')
  assert.equal(counted.upload, 13)
})

test('nothing more is forwarded once the peer is destroyed', async () => {
  const conn = new PassThrough()
  const { wire, received } = slowWire(0)
  const { peer } = peerJoining(conn, wire as unknown as StreamEnd)
  joinDirectly(peer)
  conn.write(Buffer.from('before'))
  await new Promise((resolve) => setTimeout(resolve, 10))
  peer.destroyed = true
  conn.write(Buffer.from('after'))
  await new Promise((resolve) => setTimeout(resolve, 10))
  assert.deepEqual(received.map(String), ['before'])
})
