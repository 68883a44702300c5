// webtorrent joins each TCP connection to its protocol wire through a pipeline of four more
// streams: a download throttle and a byte counter on the way in, an upload throttle and a byte
// counter on the way out. With no rate limit set, the throttles pass every chunk through, yet each
// hop is a streamx write, a queue and a microtask. On a farm link at 25 Mbit/s a chunk is one to a
// few TCP segments, so a peer pays the hops thousands of times per MiB. Without a limit, the
// connection now feeds its wire directly, counting bytes as the stock counters do and honouring
// back-pressure both ways. With a limit (MURDER_AGENT_LINK_BPS) the stock pipeline stays.
// What the wire sends in one turn of the event loop goes to the socket in one write (see forward).
import Peer from 'webtorrent/lib/peer.js'

/** What webtorrent's Peer holds that the join uses. */
export interface PeerInternals {
  conn: StreamEnd
  wire: StreamEnd
  destroyed: boolean
  throttleGroups: { down: { getEnabled(): boolean }; up: { getEnabled(): boolean } }
  emit(event: 'download' | 'upload', bytes: number): boolean
}

/** The part of a Node socket and of a streamx wire that a direct join needs. */
export interface StreamEnd {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown
  once(event: 'drain', listener: () => void): unknown
  write(chunk: Uint8Array): boolean
  pause(): unknown
  resume(): unknown
  /** A socket's: hold writes until `uncork`, then send them in one system call. */
  cork?(): void
  uncork?(): void
}

let isPatched = false

/**
 * From now on, peers that connect while neither of the client's throttle groups is enabled are
 * joined directly; set any rate limit before the first connection.
 */
export function pipeWiresDirectly(isCorking = true): void {
  if (isPatched) return
  isPatched = true
  const stock = Peer.prototype.setThrottlePipes
  Peer.prototype.setThrottlePipes = function (this: PeerInternals): void {
    if (this.throttleGroups.down.getEnabled() || this.throttleGroups.up.getEnabled()) return stock.call(this)
    joinDirectly(this, isCorking)
  }
}

/** The peer's connection feeds its wire and the wire its connection, as the stock pipeline does. */
export function joinDirectly(peer: PeerInternals, isCorking = true): void {
  forward(peer, peer.conn, peer.wire, 'download', false)
  forward(peer, peer.wire, peer.conn, 'upload', isCorking)
}

/**
 * Each chunk of `from` counted and written to `to`; `from` waits while `to` is full. With
 * `isCorking`, chunks of one turn are written together: bittorrent-protocol emits a message's
 * header and its block as two chunks, and a plan's requests as one each, and every write of a
 * socket is a system call through the TCP stack (on 48 farm hosts at 1 Mbit/s with 16 KiB pieces,
 * socket writes were the largest share of the peers' CPU).
 */
function forward(peer: PeerInternals, from: StreamEnd, to: StreamEnd, counter: 'download' | 'upload', isCorking: boolean): void {
  // A wire that is closing flushes what it holds even while paused, so 'data' can come again
  // before 'drain': one wait at a time.
  let isWaitingForDrain = false
  let isCorked = false
  const uncork = () => {
    isCorked = false
    to.uncork?.()
  }
  from.on('data', (chunk) => {
    peer.emit(counter, chunk.length)
    // Closing and errors on either end destroy the peer (webtorrent's own listeners); stop here.
    if (peer.destroyed) return
    if (isCorking && !isCorked && to.cork) {
      isCorked = true
      to.cork()
      process.nextTick(uncork)
    }
    if (to.write(chunk) || isWaitingForDrain) return
    isWaitingForDrain = true
    from.pause()
    to.once('drain', () => {
      isWaitingForDrain = false
      from.resume()
    })
  })
}
