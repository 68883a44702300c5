// The parts of webtorrent 2.8, bittorrent-tracker 11 and bencode 4 that the agent uses, and of
// parse-torrent 11 that the tests use to check the torrents make-torrent writes.
// Members starting with `_` are internals the swarm tuning hooks into (see swarm-client.ts).

declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events'

  /** bittorrent-protocol's Wire: one connection to a peer, after the handshake. */
  export interface Wire extends EventEmitter {
    /** Remote peer id, hex. */
    peerId: string | null
    type: 'tcpIncoming' | 'tcpOutgoing' | 'utpIncoming' | 'utpOutgoing' | 'webrtc' | 'webSeed' | null
    remoteAddress?: string
    remotePort?: number
    /** Payload bytes sent / received in piece messages. */
    uploaded: number
    downloaded: number
    destroyed: boolean
    hasFast: boolean
    peerPieces: { get(index: number): boolean }
    requests: unknown[]
    amChoking: boolean
    peerInterested: boolean
    downloadSpeed(): number
    have(index: number): void
    bitfield(bitfield: Uint8Array): void
    haveAll(): void
    destroy(): void
  }

  export interface TrackerClientEvents extends EventEmitter {
    /** Announces `started` again (bittorrent-tracker's Client; after a failure it waits 30 min). */
    start(): void
  }

  export interface TorrentOptions {
    path?: string
    strategy?: 'rarest' | 'sequential'
    /** Unchoke slots; webtorrent's default is 10. */
    uploads?: number
    skipVerify?: boolean
    alwaysChokeSeeders?: boolean
    storeCacheSlots?: number
  }

  export interface Torrent extends EventEmitter {
    infoHash: string
    name: string
    length: number
    pieceLength: number
    /** Verified and in-flight bytes. */
    readonly downloaded: number
    /** Payload bytes received and sent, counted as they pass (not a scan of the pieces). */
    received: number
    uploaded: number
    readonly downloadSpeed: number
    readonly uploadSpeed: number
    done: boolean
    ready: boolean
    destroyed: boolean
    wires: Wire[]
    discovery: { tracker?: TrackerClientEvents } | null
    destroy(callback?: (error?: Error | null) => void): void
    /** Dials `ip:port` as if a tracker had named it; false if the torrent refused it. */
    addPeer(peer: string): boolean
    /** Every outgoing dial (tracker, reconnects) goes through here; returns the new Peer or null. */
    _addPeer(peer: string | object, type: string, source?: string): object | null
    /** Re-plans the requests of every wire; webtorrent calls it on every HAVE, bitfield and block. */
    _update(): void
    _updateWireWrapper(): void
    /** Plans one wire's requests (webtorrent's plan calls it for every wire, in random order). */
    _updateWire(wire: Wire): void
    /** Takes a block of piece `index` away from a slower wire so that `wire` may request it; false when none is slow enough. */
    _hotswap(wire: Wire, index: number): boolean
    /** Pieces being fetched (null once verified); a failed one is replaced. */
    pieces: (import('torrent-piece').default | null)[]
    /** The pieces this client holds (verified). */
    bitfield: { get(index: number): boolean }
    /** The chunk store, created with the metadata (null before and after destroy); serves peers' requests. */
    store: { get(index: number, options: { offset: number; length: number } | null, callback: (error: Error | null, data?: Uint8Array) => void): void } | null
    /** Created with the metadata; rarest-first asks it for a piece, again and again. */
    _rarityMap: { getRarestPiece(filter?: (index: number) => boolean): number } | null
  }

  export interface WebTorrentOptions {
    peerId?: string
    torrentPort?: number
    maxConns?: number
    dht?: boolean
    lsd?: boolean
    utPex?: boolean
    utp?: boolean
    natUpnp?: boolean
    natPmp?: boolean
    webSeeds?: boolean
    seedOutgoingConnections?: boolean
    tracker?: { getAnnounceOpts?: () => Record<string, string | number> }
  }

  export default class WebTorrent extends EventEmitter {
    constructor(options?: WebTorrentOptions)
    peerId: string
    torrentPort: number
    listening: boolean
    throttleUpload(bytesPerSecond: number): void
    throttleDownload(bytesPerSecond: number): void
    add(torrent: Uint8Array, options?: TorrentOptions, onTorrent?: (torrent: Torrent) => void): Torrent
    destroy(callback?: (error?: Error | null) => void): void
  }
}

declare module 'webtorrent/lib/peer.js' {
  /** One connection of a torrent; `setThrottlePipes` joins its socket to its wire once connected. */
  export default class Peer {
    setThrottlePipes(): void
  }
}

declare module 'torrent-piece' {
  /** One piece being assembled from blocks; webtorrent makes one per missing piece. */
  export default class Piece {
    constructor(length: number)
    /** The wires whose blocks were stored, in order of arrival; null before the first and after `flush`. */
    sources: unknown[] | null
    /** Blocks in the piece. */
    _chunks: number
    /** The next block never handed out (blocks are handed out in order). */
    _reservations: number
    /** Blocks handed out whose request failed, to hand out again; null before the piece's first use and after `flush`. */
    _cancellations: number[] | null
    /** The piece is whole and was taken by `flush`: nothing more to ask for. */
    _flushed: boolean
    /** A block to ask for (its index), or -1 when every block is asked for or the piece was flushed. */
    reserve(): number
    /** Hands block `index` out again (its request failed). */
    cancel(index: number): void
    /** The whole piece once every block is in (null before); forgets blocks and sources. */
    flush(): Uint8Array | null
  }
}

declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events'
  import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'

  export interface AnnounceParams {
    /** Hex. */
    info_hash: string
    /** Hex. */
    peer_id: string
    ip: string
    port: number
    /** `ip:port`, the key of the peer in its swarm. */
    addr: string
    left: number
    event?: string
    numwant: number
    type: string
  }

  export interface SwarmPeer {
    type: string
    complete: boolean
    /** Hex. */
    peerId: string
    ip: string
    port: number
  }

  export interface AnnounceResponse {
    complete: number
    incomplete: number
    peers: SwarmPeer[]
  }

  export class Swarm {
    constructor(infoHash: string, server: Server)
    infoHash: string
    peers: {
      readonly keys: string[]
      peek(key: string): SwarmPeer | undefined
      on(event: 'evict', listener: (data: { key: string; value: SwarmPeer }) => void): void
    }
    announce(params: AnnounceParams, callback: (error: Error | null, response?: AnnounceResponse) => void): void
    _getPeers(numwant: number, ownPeerId: string, isWebRTC: boolean): SwarmPeer[]
  }

  export interface ServerOptions {
    /** Announce interval told to clients, ms. */
    interval?: number
    trustProxy?: boolean
    http?: boolean
    udp?: boolean
    ws?: boolean
    stats?: boolean
    filter?: (infoHash: string, params: AnnounceParams, callback: (error?: Error | null) => void) => void
    /** Peers a swarm remembers; past it the least recently announced is evicted (default 1000). */
    peersCacheLength?: number
  }

  export class Server extends EventEmitter {
    static Swarm: typeof Swarm
    constructor(options?: ServerOptions)
    torrents: Record<string, Swarm>
    http: HttpServer | null
    listen(port: number, hostname?: string, onListening?: () => void): void
    close(callback?: (error?: Error | null) => void): void
    onHttpRequest(request: IncomingMessage, response: ServerResponse, options?: { trustProxy?: boolean }): void
    createSwarm(infoHash: string, callback: (error: Error | null, swarm: Swarm) => void): void
    /** A scrape's request as the server parsed it; no `info_hash` scrapes every torrent. */
    _onScrape(params: { info_hash?: string[] | null }, callback: (error: Error | null, response?: unknown) => void): void
  }
}

declare module 'parse-torrent' {
  export interface ParsedTorrent {
    infoHash: string
    name: string
    length: number
    pieceLength: number
    pieces: string[]
    announce: string[]
    comment?: string
    private?: boolean
  }
  export default function parseTorrent(torrent: Uint8Array): Promise<ParsedTorrent>
}

declare module 'bencode' {
  /** Byte strings decode to Uint8Array, integers to number, dictionaries to plain objects. */
  function decode(data: Uint8Array): unknown
  function encode(value: unknown): Uint8Array
  const bencode: { decode: typeof decode; encode: typeof encode }
  export default bencode
}
