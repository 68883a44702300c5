// Which peers the tracker hands to an announcing client. Pure. The rules, for a datacenter swarm:
//  - never the client itself: not its ip:port, not its peer id, not its IP (b);
//  - only clients still downloading get peers: complete ones wait to be dialed, so the seeder and
//    finished peers never open connections of their own;
//  - never a peer that was already handed this client: that peer dials it, and two dials would
//    make two connections between the same pair (a);
//  - the origin seeder goes to a few downloading peers at a time (about 2√n, 8..16), which then
//    spread its pieces; peers that finished are favoured over those still downloading (c).
// Cost: the Roster is kept up to date as clients announce, and counts each peer's downloading
// holders as hand-outs are recorded, so one selection costs numwant plus the peers it has to skip
// (the client's own IP, the peers it was handed to, the origins), not the size of the swarm.

export interface Member {
  /** `ip:port`. */
  key: string
  peerId: string
  ip: string
  isComplete: boolean
  /** Complete at its first announce: a seeder, not a peer that finished. */
  isOrigin: boolean
}

/** Members with O(1) add, replace, remove and access by position; removal moves the last one into the gap. */
export class MemberList {
  private readonly items: Member[] = []
  private readonly positions = new Map<string, number>()

  get length(): number {
    return this.items.length
  }

  at(position: number): Member | undefined {
    return this.items[position]
  }

  /** Adds the member, or replaces the one with its key in place. */
  put(member: Member): void {
    const position = this.positions.get(member.key)
    if (position !== undefined) this.items[position] = member
    else this.positions.set(member.key, this.items.push(member) - 1)
  }

  delete(key: string): void {
    const position = this.positions.get(key)
    if (position === undefined) return
    const last = this.items.pop() as Member
    this.positions.delete(key)
    if (last.key === key) return
    this.items[position] = last
    this.positions.set(last.key, position)
  }
}

/** One swarm as the selection sees it: its members, and who was handed whom. */
export class Roster {
  private readonly members = new Map<string, Member>()
  /** In the order they joined. */
  private readonly origins = new Map<string, Member>()
  readonly finished = new MemberList()
  readonly downloading = new MemberList()
  /** Requester key → keys handed to it. */
  private readonly given = new Map<string, Set<string>>()
  /** Peer key → requesters it was handed to. */
  private readonly holders = new Map<string, Set<string>>()
  /** Peer key → how many of its holders are still downloading. */
  private readonly downloadingHolders = new Map<string, number>()
  private downloadingCount = 0

  get(key: string): Member | undefined {
    return this.members.get(key)
  }

  /** Members not complete, the requester included. */
  get downloadingSize(): number {
    return this.downloadingCount
  }

  originMembers(): IterableIterator<Member> {
    return this.origins.values()
  }

  /** Adds a member or updates it (an announce); a peer that completes stops counting as a holder. */
  set(member: Member): void {
    const old = this.members.get(member.key)
    this.members.set(member.key, member)
    if (old && this.groupOf(old) !== this.groupOf(member)) this.unlist(old)
    this.list(member)
    const wasDownloading = old !== undefined && !old.isComplete
    if (wasDownloading === !member.isComplete) return
    this.downloadingCount += wasDownloading ? -1 : 1
    for (const peer of this.given.get(member.key) ?? []) this.countHolder(peer, wasDownloading ? -1 : 1)
  }

  /** Forgets a member and every introduction to or of it. */
  delete(key: string): void {
    const member = this.members.get(key)
    if (member) {
      this.members.delete(key)
      this.unlist(member)
      if (!member.isComplete) this.downloadingCount--
    }
    for (const peer of this.given.get(key) ?? []) {
      this.holders.get(peer)?.delete(key)
      if (member && !member.isComplete) this.countHolder(peer, -1)
    }
    for (const requester of this.holders.get(key) ?? []) this.given.get(requester)?.delete(key)
    this.given.delete(key)
    this.holders.delete(key)
    this.downloadingHolders.delete(key)
  }

  wasGiven(requester: string, peer: string): boolean {
    return this.given.get(requester)?.has(peer) ?? false
  }

  holdersOf(peer: string): string[] {
    return [...(this.holders.get(peer) ?? [])]
  }

  downloadingHoldersOf(peer: string): number {
    return this.downloadingHolders.get(peer) ?? 0
  }

  record(requester: string, peers: readonly Member[]): void {
    const isDownloading = this.members.get(requester)?.isComplete === false
    let given = this.given.get(requester)
    if (!given) this.given.set(requester, (given = new Set()))
    for (const peer of peers) {
      if (given.has(peer.key)) continue
      given.add(peer.key)
      let holders = this.holders.get(peer.key)
      if (!holders) this.holders.set(peer.key, (holders = new Set()))
      holders.add(requester)
      if (isDownloading) this.countHolder(peer.key, 1)
    }
  }

  private countHolder(peer: string, delta: number): void {
    this.downloadingHolders.set(peer, (this.downloadingHolders.get(peer) ?? 0) + delta)
  }

  private groupOf(member: Member): MemberList | Map<string, Member> {
    return member.isOrigin ? this.origins : member.isComplete ? this.finished : this.downloading
  }

  private list(member: Member): void {
    const group = this.groupOf(member)
    if (group instanceof Map) group.set(member.key, member)
    else group.put(member)
  }

  private unlist(member: Member): void {
    this.groupOf(member).delete(member.key)
  }
}

/**
 * How many downloading peers hold the origin seeder at a time. Those peers forward each piece it
 * sends them to everyone else, so with too few their upload links fill, and their requests and
 * HAVEs to the seeder wait behind that traffic in their queues: with 4 (√n) on 16 farm hosts at
 * 25 Mbit/s the seeder sent at half its rate and the flow took 31-34 s; with 8, at its full rate,
 * 25 s (32 hosts: 32-34 → 30 s). Capped so that a seeder of a large fleet keeps few wires.
 */
export function originFanout(downloadingCount: number): number {
  return Math.min(16, Math.max(8, Math.ceil(2 * Math.sqrt(downloadingCount))))
}

/** Up to `numwant` peers for the member `requesterKey`, recorded as handed to it. */
export function selectPeers(roster: Roster, requesterKey: string, numwant: number, random: () => number = Math.random): Member[] {
  const requester = roster.get(requesterKey)
  if (!requester || requester.isComplete || numwant <= 0) return []
  const isCandidate = (m: Member) => m.key !== requester.key && m.peerId !== requester.peerId && m.ip !== requester.ip && !roster.wasGiven(m.key, requester.key)
  const fanout = originFanout(roster.downloadingSize)
  const chosen: Member[] = []
  for (const origin of roster.originMembers()) {
    if (chosen.length === numwant) break
    if (isCandidate(origin) && (roster.wasGiven(requester.key, origin.key) || roster.downloadingHoldersOf(origin.key) < fanout)) chosen.push(origin)
  }
  sampleInto(chosen, roster.finished, numwant, isCandidate, random)
  sampleInto(chosen, roster.downloading, numwant, isCandidate, random)
  roster.record(requester.key, chosen)
  return chosen
}

// A Fisher–Yates shuffle of the list, stopped once `chosen` is full: each accepted member is a
// uniform pick among the candidates left, as if all were filtered and shuffled, without copying.
function sampleInto(chosen: Member[], list: MemberList, numwant: number, isCandidate: (m: Member) => boolean, random: () => number): void {
  const moved = new Map<number, number>()
  for (let i = 0; i < list.length && chosen.length < numwant; i++) {
    const j = Math.min(list.length - 1, i + Math.floor(random() * (list.length - i)))
    const position = moved.get(j) ?? j
    moved.set(j, moved.get(i) ?? i)
    const member = list.at(position)
    if (member && isCandidate(member)) chosen.push(member)
  }
}
