// Which peers the tracker hands to an announcing client. Pure. The rules, for a datacenter swarm:
//  - never the client itself: not its ip:port, not its peer id, not its IP (b);
//  - only clients still downloading get peers: complete ones wait to be dialed, so the seeder and
//    finished peers never open connections of their own;
//  - never a peer that was already handed this client: that peer dials it, and two dials would
//    make two connections between the same pair (a);
//  - the origin seeder goes to a few downloading peers at a time (about √n, 4..16), which then
//    spread its pieces; peers that finished are favoured over those still downloading (c).

export interface Member {
  /** `ip:port`. */
  key: string
  peerId: string
  ip: string
  isComplete: boolean
  /** Complete at its first announce: a seeder, not a peer that finished. */
  isOrigin: boolean
}

/** Who was handed whom, per swarm: requester key → keys handed to it. */
export class Handouts {
  private readonly given = new Map<string, Set<string>>()

  wasGiven(requester: string, peer: string): boolean {
    return this.given.get(requester)?.has(peer) ?? false
  }

  record(requester: string, peers: readonly Member[]): void {
    let set = this.given.get(requester)
    if (!set) this.given.set(requester, (set = new Set()))
    for (const peer of peers) set.add(peer.key)
  }

  holdersOf(peer: string): string[] {
    return [...this.given].filter(([, set]) => set.has(peer)).map(([requester]) => requester)
  }

  forget(key: string): void {
    this.given.delete(key)
    for (const set of this.given.values()) set.delete(key)
  }
}

export function originFanout(downloadingCount: number): number {
  return Math.min(16, Math.max(4, Math.ceil(Math.sqrt(downloadingCount))))
}

export function selectPeers(members: readonly Member[], requester: Member, numwant: number, handouts: Handouts, random: () => number = Math.random): Member[] {
  if (requester.isComplete || numwant <= 0) return []
  const candidates = members.filter(
    (m) => m.key !== requester.key && m.peerId !== requester.peerId && m.ip !== requester.ip && !handouts.wasGiven(m.key, requester.key)
  )
  const downloading = new Set(members.filter((m) => !m.isComplete).map((m) => m.key))
  const fanout = originFanout(downloading.size)
  const origins = candidates.filter(
    (m) => m.isOrigin && (handouts.wasGiven(requester.key, m.key) || handouts.holdersOf(m.key).filter((key) => downloading.has(key)).length < fanout)
  )
  const finished = shuffle(
    candidates.filter((m) => m.isComplete && !m.isOrigin),
    random
  )
  const unfinished = shuffle(
    candidates.filter((m) => !m.isComplete),
    random
  )
  const chosen = [...origins, ...finished, ...unfinished].slice(0, numwant)
  handouts.record(requester.key, chosen)
  return chosen
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const item = items[i] as T
    items[i] = items[j] as T
    items[j] = item
  }
  return items
}
