// HAVE suppression: a peer tells a connected peer about a verified piece only if it is not known to hold it.
import type { Wire } from 'webtorrent'

/**
 * webtorrent sends a HAVE for every verified piece on every wire, pieces × wires messages: for the
 * sender a socket write each, for the receiver a wake-up and a re-plan of its requests. A peer
 * that holds the piece has no use for the message (it never asks for a piece it holds, and its
 * interest in us depends on the pieces it lacks), so it is left out, as libtorrent does with
 * `send_redundant_have` off. The seeder hears every HAVE: super-seeding counts them (super-seed.ts).
 */
export function suppressRedundantHaves(wire: Wire, isToSeeder: boolean): void {
  if (isToSeeder) return
  const have = wire.have.bind(wire)
  wire.have = (index) => {
    if (!wire.peerPieces.get(index)) have(index)
  }
}
