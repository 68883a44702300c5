// Which addresses this agent may dial. Pure. It refuses its own address (the tracker of a stock
// swarm hands a client back to itself), addresses of peers it already reaches through another
// connection (see duplicate-wires.ts) and of peers banned for sending bad data (piece-trust.ts),
// and a seeder dials nobody: peers come to it.
import { plainIp } from './ip-address.ts'

export type DialVerdict = 'dial' | 'self' | 'banned' | 'already-connected' | 'seeder-waits'

export interface OwnAddress {
  /** Every local interface address and the announced one. */
  ips: ReadonlySet<string>
  /** The listening port; read when asked, since it is only known once listening. */
  port: () => number
}

export function splitAddress(address: string): { ip: string; port: number } | undefined {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address)
  if (!match?.[1] || !match[2]) return undefined
  return { ip: plainIp(match[1]), port: Number(match[2]) }
}

export class DialPolicy {
  private readonly reachedElsewhere = new Set<string>()
  private readonly banned = new Set<string>()
  refusedSelfCount = 0

  constructor(
    private readonly own: OwnAddress,
    private readonly shouldDialOut: boolean
  ) {}

  verdict(address: string): DialVerdict {
    const parts = splitAddress(address)
    if (parts && parts.port === this.own.port() && this.own.ips.has(parts.ip)) {
      this.refusedSelfCount += 1
      return 'self'
    }
    if (this.isBanned(address)) return 'banned'
    if (!this.shouldDialOut) return 'seeder-waits'
    if (this.reachedElsewhere.has(address)) return 'already-connected'
    return 'dial'
  }

  /** Stop dialing `address` while the peer behind it is connected through another wire. */
  avoid(address: string): void {
    this.reachedElsewhere.add(address)
  }

  allow(address: string): void {
    this.reachedElsewhere.delete(address)
  }

  /** Never dial `address` again: the peer behind it sent data that failed its hash. */
  ban(address: string): void {
    this.banned.add(address)
  }

  isBanned(address: string): boolean {
    return this.banned.has(address)
  }
}
