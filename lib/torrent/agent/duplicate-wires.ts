// Both hosts of a pair may dial each other at once and end up with two connections. Each side
// closes one, and both must close the same one without talking: the connection dialed by the
// side with the smaller peer id stays. Pure.

export interface WireEnd {
  isOutgoing: boolean
}

/** Of two wires to the same remote peer (`older` first), the one to close. */
export function wireToClose<T extends WireEnd>(localPeerId: string, remotePeerId: string, older: T, newer: T): T {
  // Same direction (one peer reached under two addresses): nothing to agree on, drop the newcomer.
  if (older.isOutgoing === newer.isOutgoing) return newer
  const shouldKeepOutgoing = localPeerId < remotePeerId
  const outgoing = older.isOutgoing ? older : newer
  const incoming = older.isOutgoing ? newer : older
  return shouldKeepOutgoing ? incoming : outgoing
}
