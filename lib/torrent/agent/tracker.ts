// The tracker: bittorrent-tracker's HTTP server, serving only whitelisted torrents, taking each
// client's address from its announce (`ip=`, the address the controller reached it on), and
// handing out peers by the rules of peer-selection.ts instead of a random sample that includes
// the client itself.
import { access } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { Server, type AnnounceParams, type AnnounceResponse, type SwarmPeer } from 'bittorrent-tracker'
import { plainIp } from './ip-address.ts'
import { Roster, selectPeers } from './peer-selection.ts'
import { isTuned } from './tuning-switch.ts'

/**
 * Hosts one swarm remembers. bittorrent-tracker's default, 1000, made a deploy to more hosts forget
 * the seeder after 1000 announces, and made finished hosts that came back look like seeders.
 */
export const MAX_HOSTS_PER_SWARM = 100_000

export const UNKNOWN_TORRENT = 'unknown torrent; run murder:create_torrent to whitelist it on the tracker'

/** The `ip=` of an announce URL when it is an IP literal. */
export function readAnnouncedIp(url: string | undefined): string | undefined {
  const query = url?.split('?')[1]
  if (query === undefined) return undefined
  const ip = new URLSearchParams(query).get('ip') ?? ''
  return isIP(ip) === 0 ? undefined : plainIp(ip)
}

class MurderSwarm extends Server.Swarm {
  private readonly roster = new Roster()

  constructor(infoHash: string, server: Server) {
    super(infoHash, server)
    this.peers.on('evict', ({ key }) => this.roster.delete(key))
  }

  override announce(params: AnnounceParams, callback: (error: Error | null, response?: AnnounceResponse) => void): void {
    if (!isTuned('tracker')) return super.announce(params, callback)
    // An origin is a client that was complete at its first announce: a seeder.
    const isNew = this.peers.peek(params.addr) === undefined
    const isOrigin = isNew ? params.left === 0 && params.event !== 'stopped' : (this.roster.get(params.addr)?.isOrigin ?? false)
    super.announce(params, (error, response) => {
      if (error || !response) return callback(error, response)
      if (params.event === 'stopped') {
        this.roster.delete(params.addr)
        return callback(null, { ...response, peers: [] })
      }
      const peer = this.peers.peek(params.addr)
      if (peer) this.roster.set({ key: params.addr, peerId: peer.peerId, ip: peer.ip, isComplete: peer.complete, isOrigin })
      const chosen = selectPeers(this.roster, params.addr, params.numwant)
      callback(null, { ...response, peers: chosen.map((member) => this.peers.peek(member.key)).filter((peer): peer is SwarmPeer => peer !== undefined) })
    })
  }

  /** Replaced by the selection in `announce`. */
  override _getPeers(numwant: number, ownPeerId: string, isWebRTC: boolean): SwarmPeer[] {
    return isTuned('tracker') ? [] : super._getPeers(numwant, ownPeerId, isWebRTC)
  }
}

export class MurderTracker extends Server {
  constructor(options: { intervalMs: number; whitelistDirectory: string }) {
    super({
      http: true,
      udp: false,
      ws: false,
      stats: false,
      trustProxy: true,
      interval: options.intervalMs,
      peersCacheLength: MAX_HOSTS_PER_SWARM,
      filter: (infoHash, _params, callback) => {
        isWhitelisted(options.whitelistDirectory, infoHash).then(
          (isAllowed) => callback(isAllowed ? null : new Error(UNKNOWN_TORRENT)),
          () => callback(new Error(UNKNOWN_TORRENT))
        )
      },
    })
  }

  // trustProxy reads the client address from X-Forwarded-For; we set it ourselves from `ip=` (or
  // the socket), so a header sent by the client is never believed.
  override onHttpRequest(request: IncomingMessage, response: ServerResponse, options: { trustProxy?: boolean } = {}): void {
    const socketIp = plainIp(request.socket.remoteAddress ?? '')
    request.headers['x-forwarded-for'] = readAnnouncedIp(request.url) ?? socketIp
    super.onHttpRequest(request, response, { ...options, trustProxy: true })
  }

  // A scrape naming no torrent lists every one the tracker serves: their info hashes are what a
  // stranger on the network needs to join a swarm, so only a scrape naming its own is answered.
  // Checked on the request as the server itself parsed it, not on a second reading of the URL.
  override _onScrape(params: { info_hash?: string[] | null }, callback: (error: Error | null, response?: unknown) => void): void {
    if (params.info_hash === undefined || params.info_hash === null || params.info_hash.length === 0) {
      callback(new Error('scrape one torrent at a time: give its info_hash'))
      return
    }
    super._onScrape(params, callback)
  }

  override createSwarm(infoHash: string, callback: (error: Error | null, swarm: InstanceType<typeof Server.Swarm>) => void): void {
    const swarm = new MurderSwarm(infoHash, this)
    this.torrents[infoHash] = swarm
    process.nextTick(() => callback(null, swarm))
  }
}

async function isWhitelisted(directory: string, infoHash: string): Promise<boolean> {
  if (!/^[0-9a-f]{40}$/.test(infoHash)) return false
  await access(join(directory, infoHash))
  return true
}
