// How many peers a client asks the tracker for at an announce (numwant). Pure.
//
// Only a downloading client asks: the tracker hands complete ones nobody (they wait to be dialed).
// Each peer handed out is dialed, and each other peer that is handed this one dials it, so a
// client's wires grow with every announce (every 10 s) for as long as it downloads. Past a handful
// they keep no link busier and cost CPU per byte: every verified piece is announced on each wire
// that lacks it, each announcement makes the receiver re-plan its requests, and each wire is a TCP
// flow of its own. So once a client holds enough wires it asks for one peer per announce, which
// still mends a swarm where peers leave. (Not 0: bittorrent-tracker's HTTP server reads numwant=0
// as its default, 50.)

/**
 * Peers asked for while a client holds fewer wires than ENOUGH_WIRES. On 16 farm hosts at 100 Mbit
 * (CPU-bound) 30 took 17.3 s, 8 took 14.8 s, 4 took 13.8 s; at 25 Mbit, 4 against 8 alternated:
 * 48 hosts 37.4-41.9 s against 41.8-44.2 s (71-74 against 80-82 CPU-s), 32 hosts 28.6-28.8
 * against 29.7-29.9 s, 16 hosts 24.6-24.9 against 25.5-25.6.
 */
export const PEERS_PER_ANNOUNCE = 4
/**
 * Wires after which a client tops up by one peer per announce. On 48 farm hosts at 25 Mbit, 50
 * MiB, alternated against asking 4 every time: 37.7 / 39.0 / 40.7 s against 43.3 / 43.1 / 44.7 s
 * (75-81 against 86-89 CPU-s); 6 wires 41.7 / 39.6 s, 12 wires 41.0 / 45.2 s; 16 and 32 hosts,
 * which finish after fewer announces, the same within the spread; 4 MiB to 48 hosts at 1 Mbit/s
 * 62.7 / 61.6 s against 66.8 / 64.6 s (55 against 62-69 CPU-s).
 */
export const ENOUGH_WIRES = 8

export interface AnnouncingClient {
  isSeed: boolean
  isDone: boolean
  wireCount: number
}

export function peersWanted(client: AnnouncingClient): number {
  if (client.isSeed || client.isDone) return 0
  return client.wireCount >= ENOUGH_WIRES ? 1 : PEERS_PER_ANNOUNCE
}
