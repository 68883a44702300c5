import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Duplex as NodeDuplex } from 'node:stream'
import { Duplex, Readable } from 'streamx'
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

/**
 * A socket stand-in with independent sides, as a TCP socket has: `push` is what arrives, what is
 * written waits in `sent` until `flow()` (the kernel taking it); its writable side is full at 8 bytes.
 */
function socketLike() {
  const sent: Buffer[] = []
  const held: (() => void)[] = []
  let isFlowing = false
  const socket = new NodeDuplex({
    highWaterMark: 8,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      sent.push(chunk)
      if (isFlowing) callback()
      else held.push(() => callback())
    },
  })
  const flow = () => {
    isFlowing = true
    for (const release of held.splice(0)) release()
  }
  return { socket, sent, flow }
}

async function until(condition: () => boolean, onPoll: () => void = () => {}): Promise<void> {
  const deadline = Date.now() + 5000
  while (!condition() && Date.now() < deadline) {
    onPoll()
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
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
  const { socket: conn } = socketLike()
  const { wire, received } = slowWire(5)
  const { peer, counted } = peerJoining(conn, wire as unknown as StreamEnd)
  joinDirectly(peer)
  let emitted = 0
  let mostQueued = 0
  conn.on('data', () => {
    emitted += 1
    mostQueued = Math.max(mostQueued, emitted - received.length)
  })
  let pausedSeen = false
  const chunks = Array.from({ length: 20 }, (_, i) => Buffer.from(`chunk ${i};`))
  for (const chunk of chunks) conn.push(chunk)
  await until(() => received.length === chunks.length, () => (pausedSeen ||= conn.isPaused()))
  await until(() => !conn.isPaused())
  assert.equal(Buffer.concat(received).toString(), Buffer.concat(chunks).toString())
  assert.equal(counted.download, Buffer.concat(chunks).length)
  assert.ok(pausedSeen, 'the connection was paused while the wire held 2 chunks')
  assert.ok(mostQueued <= 3, `the wire never held more than its 2 chunks and the one that filled it (held ${mostQueued})`)
  assert.equal(conn.isPaused(), false, 'and flows again once the wire drained')
})

test('the wire waits while the connection is full, with one drain listener however much it flushes', async () => {
  const { socket: conn, sent, flow } = socketLike()
  const wire = new Duplex({ highWaterMark: 1024, write: (_chunk: unknown, callback: (error: Error | null) => void) => callback(null) })
  const { peer, counted } = peerJoining(conn, wire as unknown as StreamEnd)
  joinDirectly(peer)
  const chunks = Array.from({ length: 30 }, (_, i) => Buffer.from(`have ${i};`))
  for (const chunk of chunks) wire.push(chunk)
  await until(() => Readable.isPaused(wire))
  assert.ok(Readable.isPaused(wire), 'the connection takes nothing: the wire is paused')
  assert.ok(sent.length < chunks.length, `the wire stopped sending (${sent.length} of ${chunks.length} written)`)
  // A closing wire flushes what it holds even while paused (bittorrent-protocol: while (read()) {}).
  while (wire.read() !== null);
  assert.ok(conn.listenerCount('drain') <= 1, `drain listeners: ${conn.listenerCount('drain')}`)
  flow()
  await until(() => !Readable.isPaused(wire))
  assert.equal(Buffer.concat(sent).toString(), Buffer.concat(chunks).toString())
  assert.equal(counted.upload, Buffer.concat(chunks).length)
})

test('what the wire sends goes out on the connection, counted as upload', async () => {
  const { socket: conn, sent, flow } = socketLike()
  flow()
  const wire = new Duplex({ write: (_chunk: unknown, callback: (error: Error | null) => void) => callback(null) })
  const { peer, counted } = peerJoining(conn, wire as unknown as StreamEnd)
  joinDirectly(peer)
  wire.push(Buffer.from('have 3'))
  wire.push(Buffer.from('piece 3'))
  await until(() => sent.length === 2)
  assert.equal(Buffer.concat(sent).toString(), 'have 3piece 3')
  assert.equal(counted.upload, 13)
})

test('nothing more is forwarded once the peer is destroyed', async () => {
  const { socket: conn } = socketLike()
  const { wire, received } = slowWire(0)
  const { peer } = peerJoining(conn, wire as unknown as StreamEnd)
  joinDirectly(peer)
  conn.push(Buffer.from('before'))
  await new Promise((resolve) => setTimeout(resolve, 10))
  peer.destroyed = true
  conn.push(Buffer.from('after'))
  await new Promise((resolve) => setTimeout(resolve, 10))
  assert.deepEqual(received.map(String), ['before'])
})

test('what the wire sends in one turn reaches the connection in one write, and each turn in its own', async () => {
  const batches: string[][] = []
  const socketWith = () =>
    new NodeDuplex({
      read() {},
      writev(chunks: { chunk: Buffer }[], callback: () => void) {
        batches.push(chunks.map(({ chunk }) => chunk.toString()))
        callback()
      },
    })
  const send = async (isCorking: boolean) => {
    batches.length = 0
    const conn = socketWith()
    const wire = new Duplex({ write: (_chunk: unknown, callback: (error: Error | null) => void) => callback(null) })
    joinDirectly(peerJoining(conn, wire as unknown as StreamEnd).peer, isCorking)
    // A piece message is two chunks, its header and its block; a plan's requests come with it.
    wire.push(Buffer.from('header'))
    wire.push(Buffer.from('block'))
    wire.push(Buffer.from('request'))
    await until(() => batches.flat().length === 3)
    wire.push(Buffer.from('have'))
    await until(() => batches.flat().length === 4)
    return batches.map((batch) => batch.join('+'))
  }
  assert.deepEqual(await send(true), ['header+block+request', 'have'])
  assert.deepEqual(await send(false), ['header', 'block', 'request', 'have'], 'uncorked, each chunk is a write of its own')
})
