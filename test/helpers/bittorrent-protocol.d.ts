// The part of bittorrent-protocol (webtorrent's wire) the corrupt test peer uses.
declare module 'bittorrent-protocol' {
  import { Duplex } from 'node:stream'
  export default class Wire extends Duplex {
    peerId: string | null
    handshake(infoHash: string, peerId: string, extensions?: Record<string, boolean>): void
    bitfield(bitfield: Uint8Array): void
    unchoke(): void
    destroy(): this
    on(event: 'handshake', listener: (infoHash: string, peerId: string) => void): this
    on(event: 'interested', listener: () => void): this
    on(event: 'request', listener: (index: number, offset: number, length: number, respond: (error: Error | null, block?: Uint8Array) => void) => void): this
    on(event: string, listener: (...args: unknown[]) => void): this
  }
}
