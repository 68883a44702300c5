// webtorrent set up for a datacenter swarm rather than a streaming client, with the swarm tuning
// (see peer-selection.ts for the tracker's half):
//  - TCP to the tracker's peers only: no DHT, LSD, PEX, uTP, web seeds, UPnP/NAT-PMP or WebRTC;
//    rarest-first instead of sequential; every interested peer unchoked (no tit-for-tat);
//  - (a) a second connection to an already connected peer is closed (duplicate-wires.ts);
//  - (b) the agent never dials its own address (dial-policy.ts);
//  - (c) the seeder shows each peer only a few pieces at a time (super-seed.ts);
//  - (d) a block is asked again of a faster peer only in the end game (endgame-hotswap.ts);
//  - (e) with no rate limit, each socket feeds its wire without webtorrent's throttle streams
//    (direct-pipes.ts);
//  - (f) a peer announces a verified piece only to peers not known to hold it (have-suppression.ts).
// And, not a tuning: a peer stops taking data from peers whose pieces fail their hash (bad-piece-guard.ts).
import { networkInterfaces } from 'node:os'
import WebTorrent, { type Torrent, type Wire } from 'webtorrent'
import { guardAgainstBadPieces } from './bad-piece-guard.ts'
import { DialPolicy } from './dial-policy.ts'
import { pipeWiresDirectly } from './direct-pipes.ts'
import { hotswapOnlyInEndgame } from './endgame-hotswap.ts'
import { skipExhaustedWires } from './exhausted-wires.ts'
import { wireToClose } from './duplicate-wires.ts'
import { suppressRedundantHaves } from './have-suppression.ts'
import { plainIp } from './ip-address.ts'
import { peersWanted } from './peers-wanted.ts'
import { isSeederPeerId, makePeerId, type SwarmRole } from './peer-id.ts'
import { paceRequestPlans, rarestAmongAskable } from './request-planner.ts'
import { openPiecesPerPeer, SuperSeedPolicy, toBitfield } from './super-seed.ts'
import { isTuned } from './tuning-switch.ts'
import { WireLedger, type LedgerWire } from './wire-ledger.ts'

/**
 * Connections this agent dials up to (others may still dial it). Every verified piece is announced
 * on every connection that does not hold it (have-suppression.ts) and each announcement costs the
 * receiver a re-plan of its requests, so more is not better past what keeps the links busy.
 */
const MAX_CONNECTIONS = 80
/** webtorrent keeps this many unchoke slots; a datacenter swarm unchokes everyone who asks. */
const UNLIMITED_UPLOAD_SLOTS = Number.MAX_SAFE_INTEGER
/**
 * How long a peer may sit on a piece from the seeder before it is shown another: none. Waiting for
 * pieces to spread (BEP 16's guard against peers that do not share) starved the swarm: the seeder
 * sees only the few peers the tracker gives it, so it mostly waited out the timer, and 16 hosts
 * took 90 s instead of 16 s at 100 Mbit. Rarest-first hand-out still sends every piece once before
 * any twice.
 */
const SPREAD_WAIT_MS = 0

export interface SwarmOptions {
  role: SwarmRole
  /** The address other hosts reach this one on (announced to the tracker). */
  announceIp: string
  /** 0: any free port. */
  port: number
  seederIp?: string
  /**
   * The seeder's payload is still arriving (arriving-payload.ts): only pieces it holds are shown
   * and read, and `piecesArrived` is called as more come. Super-seeding is then always on.
   */
  holds?: (piece: number) => boolean
  log: (message: string) => void
}

export interface SwarmSession {
  client: WebTorrent
  torrent: Torrent
  ledger: WireLedger
  counters: { duplicateWiresClosed: number; selfDialsRefused: () => number; peersBanned: () => number }
  /** The seeder came to hold more pieces (with `holds`), or all of them: peers are shown them. */
  piecesArrived(isComplete: boolean): void
  destroy(): Promise<void>
}

export function joinSwarm(torrentFile: Uint8Array, payloadDirectory: string, options: SwarmOptions): SwarmSession {
  const isSeed = options.role === 'seed'
  let torrent: Torrent | undefined
  if (isTuned('direct-pipes')) pipeWiresDirectly(isTuned('corked-writes'))
  const client = new WebTorrent({
    peerId: makePeerId(options.role),
    torrentPort: options.port,
    maxConns: MAX_CONNECTIONS,
    dht: false,
    lsd: false,
    utPex: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    webSeeds: false,
    seedOutgoingConnections: !isTuned('dial'),
    tracker: {
      getAnnounceOpts: () => ({ ip: options.announceIp, ...(isTuned('dial') ? { numwant: peersWanted({ isSeed, isDone: torrent?.done === true, wireCount: torrent?.wires.length ?? 0 }) } : {}) }),
    },
  })
  const linkBps = Number(process.env['MURDER_AGENT_LINK_BPS'] ?? 0)
  if (linkBps > 0) {
    // Benchmarks on one machine: emulate each host's link (loopback has none).
    client.throttleUpload(linkBps)
    client.throttleDownload(linkBps)
    options.log(`link limited to ${linkBps} B/s each way (MURDER_AGENT_LINK_BPS)`)
  }
  torrent = client.add(torrentFile, {
    path: payloadDirectory,
    strategy: isTuned('rarest') ? 'rarest' : 'sequential',
    ...(isTuned('unchoke') ? { uploads: UNLIMITED_UPLOAD_SLOTS } : {}),
    // The seeder checked the payload's SHA-256 against the torrent before starting.
    skipVerify: isSeed,
  })
  const current = torrent
  const holds = options.holds
  if (holds) refuseReadsNotHeld(current, holds)
  if (isTuned('coalesce')) paceRequestPlans(current)
  // Without the end-game rule, webtorrent may take a block from another wire at any time.
  const mayTakeBlocks = isTuned('endgame-hotswap') ? hotswapOnlyInEndgame(current) : () => true
  if (isTuned('rarest-held')) rarestAmongAskable(current, isTuned('rarest-open') ? mayTakeBlocks : () => true)
  if (isTuned('exhausted-wires')) skipExhaustedWires(current, mayTakeBlocks)

  const dialPolicy = new DialPolicy({ ips: localAddresses(options.announceIp), port: () => client.torrentPort }, !isSeed)
  const addPeer = current._addPeer.bind(current)
  current._addPeer = (peer, type, source) => {
    if (typeof peer !== 'string') return addPeer(peer, type, source)
    if (dialPolicy.isBanned(peer)) return null
    if (!isTuned('dial')) return addPeer(peer, type, source)
    const verdict = dialPolicy.verdict(peer)
    if (verdict === 'dial') return addPeer(peer, type, source)
    if (verdict === 'self') options.log(`not dialing ${peer}: it is this agent`)
    return null
  }

  const isSeederAddress = (address: string | undefined) => options.seederIp !== undefined && address !== undefined && plainIp(address) === options.seederIp
  const isSeederWire = (wire: LedgerWire) => isSeederPeerId(wire.peerId) || isSeederAddress(wire.remoteAddress)
  const ledger = new WireLedger(isSeederWire)
  const peersBanned = isSeed
    ? () => 0
    : guardAgainstBadPieces(current, {
        // Its address, not its id, which any peer could copy.
        isExempt: (wire) => isSeederAddress(wire.remoteAddress),
        onBan: (wire, failedPieces) => {
          options.log(`banned ${wire.remoteAddress ?? '?'}:${wire.remotePort ?? 0} (${peerLabel(wire.peerId)}): ${failedPieces} pieces with its blocks failed their hash`)
        },
        refuseDialing: (address) => dialPolicy.ban(address),
      })
  const counters = { duplicateWiresClosed: 0, selfDialsRefused: () => dialPolicy.refusedSelfCount, peersBanned }
  let policy: SuperSeedPolicy | undefined
  /** Every piece has arrived: a policy made from now on (at the first wire) shows pieces as with a full payload. */
  let hasArrived = holds === undefined
  let wireCount = 0
  const seedWires = new Map<string, Wire>()
  const superSeedPolicy = (): SuperSeedPolicy => {
    if (policy) return policy
    const created = new SuperSeedPolicy(Math.ceil(current.length / current.pieceLength), {
      openPerPeer: openPiecesPerPeer(current.pieceLength),
      spreadWaitMs: SPREAD_WAIT_MS,
      show: (peer, pieces) => {
        const wire = seedWires.get(peer)
        for (const piece of pieces) wire?.have(piece)
      },
      ...(holds && !hasArrived ? { holds } : {}),
    })
    const timer = setInterval(() => created.tick(Date.now()), Math.max(250, SPREAD_WAIT_MS / 4))
    timer.unref()
    current.once('close', () => clearInterval(timer))
    policy = created
    return created
  }

  current.on('wire', (wire: Wire) => {
    const name = `${wire.remoteAddress ?? '?'}:${wire.remotePort ?? 0}`
    options.log(`connected ${wire.type === 'tcpOutgoing' ? 'to' : 'from'} ${name} (${peerLabel(wire.peerId)})`)
    wire.once('close', () => options.log(`closed ${name} (${peerLabel(wire.peerId)}): sent ${wire.uploaded} B, got ${wire.downloaded} B`))
    ledger.add(wire)
    if (isTuned('dedupe') && closeDuplicate(wire)) return
    if (isSeed && (isTuned('super-seed') || holds)) superSeed(wire, superSeedPolicy(), `w${++wireCount}`, seedWires, (count, of) => options.log(`showing ${name} ${count} of ${of} pieces`))
    if (!isSeed && isTuned('have-suppression')) suppressRedundantHaves(wire, isSeederWire(wire))
  })

  function closeDuplicate(wire: Wire): boolean {
    const other = current.wires.find((candidate) => candidate !== wire && !candidate.destroyed && candidate.peerId === wire.peerId)
    if (!other || wire.peerId === null) return false
    const end = (w: Wire) => ({ wire: w, isOutgoing: w.type === 'tcpOutgoing' })
    const victim = wireToClose(client.peerId, wire.peerId, end(other), end(wire)).wire
    const keeper = victim === wire ? other : wire
    if (victim.type === 'tcpOutgoing' && victim.remoteAddress !== undefined) {
      const address = `${victim.remoteAddress}:${victim.remotePort ?? 0}`
      dialPolicy.avoid(address)
      keeper.once('close', () => dialPolicy.allow(address))
    }
    counters.duplicateWiresClosed += 1
    options.log(`closing a second connection to ${peerLabel(wire.peerId)}`)
    // After webtorrent's own setup of this wire (queued as a microtask) has run.
    setImmediate(() => victim.destroy())
    return victim === wire
  }

  return {
    client,
    torrent: current,
    ledger,
    counters,
    piecesArrived: (isComplete) => {
      hasArrived = isComplete
      policy?.onArrival(isComplete)
    },
    destroy: () => new Promise<void>((resolve) => client.destroy(() => resolve())),
  }
}

/**
 * Routes one wire through the super-seeding policy: webtorrent's single "have all"/bitfield message
 * becomes a bitfield of the shown pieces, and further pieces are shown with HAVE messages.
 */
function superSeed(wire: Wire, policy: SuperSeedPolicy, id: string, wires: Map<string, Wire>, logShown: (count: number, of: number) => void): void {
  wires.set(id, wire)
  const sendBitfield = wire.bitfield.bind(wire)
  let isIntroduced = false
  const introduce = () => {
    if (isIntroduced) return
    isIntroduced = true
    const shown = policy.introduce(id)
    logShown(shown.length, policy.pieceCount)
    sendBitfield(toBitfield(shown, policy.pieceCount))
  }
  wire.haveAll = introduce
  wire.bitfield = introduce
  wire.on('have', (piece: number) => policy.onHave(id, piece, Date.now()))
  wire.on('bitfield', () => policy.onBitfield(id, (piece) => wire.peerPieces.get(piece), Date.now()))
  wire.once('close', () => {
    wires.delete(id)
    policy.removePeer(id)
  })
}

/**
 * A peer asks only for pieces it was shown, but one that asks for another must not be served
 * whatever the unfinished file holds there: such a read fails, and the request goes unanswered.
 */
function refuseReadsNotHeld(torrent: Torrent, holds: (piece: number) => boolean): void {
  const gate = () => {
    const store = torrent.store
    if (!store) return
    const get = store.get.bind(store)
    store.get = (index, options, callback) => {
      if (holds(index)) return get(index, options, callback)
      queueMicrotask(() => callback(new Error(`piece ${index} has not arrived yet`)))
    }
  }
  if (torrent.store) gate()
  else torrent.once('metadata', gate)
}

function localAddresses(announceIp: string): Set<string> {
  const ips = new Set([announceIp, '0.0.0.0', '127.0.0.1', '::', '::1'])
  for (const entries of Object.values(networkInterfaces())) for (const entry of entries ?? []) ips.add(entry.address)
  return ips
}

function peerLabel(peerIdHex: string | null): string {
  return peerIdHex ? Buffer.from(peerIdHex, 'hex').toString('latin1').replace(/[^\x20-\x7e]/g, '?') : 'unknown peer'
}
