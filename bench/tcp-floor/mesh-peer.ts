// One farm host of bench/tcp-floor.ts: the least a Node program can do to move a swarm's bytes. It
// listens, and on "go" (a line on stdin) sends SIZE bytes split evenly over connections to its
// FANOUT successors on the ring, in 128 KiB writes of one buffer, honouring back-pressure, while it
// counts what its FANOUT predecessors send it (optionally writing it to a file, as a peer stores
// pieces). It prints "received MS" once it has SIZE bytes and exits when its sends are done too.
import { createWriteStream, type WriteStream } from 'node:fs'
import { createServer, connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'

const [listenPort, sizeText, successorsText, sinkPath] = process.argv.slice(2)
const size = Number(sizeText)
const successors = (successorsText ?? '').split(',').filter(Boolean)
const CHUNK = randomBytes(128 * 1024)

let received = 0
let startedAt = 0
let sendsLeft = successors.length
let hasReceived = false
const sink: WriteStream | undefined = sinkPath ? createWriteStream(sinkPath) : undefined

function finishIfDone(): void {
  if (hasReceived && sendsLeft === 0) sink ? sink.end(() => process.exit(0)) : process.exit(0)
}

const server = createServer((socket) => {
  socket.on('data', (data: Buffer) => {
    received += data.length
    if (sink && !sink.write(data)) {
      socket.pause()
      sink.once('drain', () => socket.resume())
    }
    if (!hasReceived && received >= size) {
      hasReceived = true
      console.log(`received ${Date.now() - startedAt}`)
      finishIfDone()
    }
  })
})
server.listen(Number(listenPort), () => console.log('listening'))

/** Sends `bytes` to `address`, writing again on each drain. */
function send(address: string, bytes: number): void {
  const socket: Socket = connect({ host: address, port: Number(listenPort) })
  let left = bytes
  const pump = (): void => {
    while (left > 0) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
      left -= piece.length
      if (!socket.write(piece)) return
    }
    socket.end()
  }
  socket.on('drain', pump)
  socket.on('connect', pump)
  socket.on('close', () => {
    sendsLeft -= 1
    finishIfDone()
  })
  socket.on('error', (error) => {
    console.error(`send to ${address}: ${error.message}`)
    process.exit(1)
  })
}

process.stdin.once('data', () => {
  startedAt = Date.now()
  const share = Math.floor(size / successors.length)
  successors.forEach((address, index) => send(address, index === 0 ? size - share * (successors.length - 1) : share))
})
