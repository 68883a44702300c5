// The tracker: bittorrent-tracker's HTTP server, serving only whitelisted torrents, taking each
// client's address from its announce (`ip=`, the address the controller reached it on), and
// handing out peers by the rules of peer-selection.ts instead of a random sample that includes
// the client itself.
import { access } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { Server, type AnnounceParams, type AnnounceResponse, type SwarmPeer } from 'bittorrent-tracker'
import { Handouts, selectPeers, type Member } from './peer-selection.ts'
import { isTuned } from './tuning-switch.ts'

export const UNKNOWN_TORRENT = 'unknown torrent; run murder:create_torrent to whitelist it on the tracker'

/** The `ip=` of an announce URL when it is an IP literal. */
export function readAnnouncedIp(url: string | undefined): string | undefined {
  const query = url?.split('?')[1]
  if (query === undefined) return undefined
  const ip = new URLSearchParams(query).get('ip') ?? ''
  return isIP(ip) === 0 ? undefined : ip.replace(/^::ffff:/, '')
}

class MurderSwarm extends Server.Swarm {
  private readonly handouts = new Handouts()
  /** Clients that were complete at their first announce: seeders. */
  private readonly origins = new Set<string>()

  constructor(infoHash: string, server: Server) {
    super(infoHash, server)
    this.peers.on('evict', ({ key }) => this.forget(key))
  }

  override announce(params: AnnounceParams, callback: (error: Error | null, response?: AnnounceResponse) => void): void {
    if (!isTuned('tracker')) return super.announce(params, callback)
    if (this.peers.peek(params.addr) === undefined && params.left === 0 && params.event !== 'stopped') this.origins.add(params.addr)
    super.announce(params, (error, response) => {
      if (error || !response) return callback(error, response)
      if (params.event === 'stopped') {
        this.forget(params.addr)
        return callback(null, { ...response, peers: [] })
      }
      const members = this.members()
      const requester = members.find((member) => member.key === params.addr)
      const chosen = requester ? selectPeers(members, requester, params.numwant, this.handouts) : []
      callback(null, { ...response, peers: chosen.map((member) => this.peers.peek(member.key)).filter((peer): peer is SwarmPeer => peer !== undefined) })
    })
  }

  /** Replaced by the selection in `announce`. */
  override _getPeers(numwant: number, ownPeerId: string, isWebRTC: boolean): SwarmPeer[] {
    return isTuned('tracker') ? [] : super._getPeers(numwant, ownPeerId, isWebRTC)
  }

  private members(): Member[] {
    const members: Member[] = []
    for (const key of this.peers.keys) {
      const peer = this.peers.peek(key)
      if (peer) members.push({ key, peerId: peer.peerId, ip: peer.ip, isComplete: peer.complete, isOrigin: this.origins.has(key) })
    }
    return members
  }

  private forget(key: string): void {
    this.origins.delete(key)
    this.handouts.forget(key)
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
    const socketIp = request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? ''
    request.headers['x-forwarded-for'] = readAnnouncedIp(request.url) ?? socketIp
    super.onHttpRequest(request, response, { ...options, trustProxy: true })
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
