// Per-connection payload counters that outlive the connection: webtorrent drops a wire (and its
// counters) when it closes, but the stats must still say how much came from the seeder.
import type { WireStats } from '../protocol.ts'

/** The few members of a bittorrent-protocol Wire the ledger reads. */
export interface LedgerWire {
  peerId: string | null
  type: string | null
  remoteAddress?: string
  remotePort?: number
  uploaded: number
  downloaded: number
  once(event: 'close', listener: () => void): unknown
}

export interface LedgerTotals {
  uploadedBytes: number
  fromSeederBytes: number
  fromPeersBytes: number
  wires: number
}

export class WireLedger {
  private readonly open = new Map<LedgerWire, boolean>()
  private readonly closed: WireStats[] = []

  constructor(private readonly isSeeder: (wire: LedgerWire) => boolean) {}

  add(wire: LedgerWire): void {
    this.open.set(wire, this.isSeeder(wire))
    wire.once('close', () => {
      const isSeeder = this.open.get(wire)
      if (isSeeder === undefined) return
      this.open.delete(wire)
      this.closed.push(describe(wire, isSeeder))
    })
  }

  totals(): LedgerTotals {
    const totals: LedgerTotals = { uploadedBytes: 0, fromSeederBytes: 0, fromPeersBytes: 0, wires: this.open.size }
    for (const wire of this.list()) {
      totals.uploadedBytes += wire.uploadedBytes
      if (wire.isSeeder) totals.fromSeederBytes += wire.downloadedBytes
      else totals.fromPeersBytes += wire.downloadedBytes
    }
    return totals
  }

  /** Every connection, open ones first. */
  list(): WireStats[] {
    return [...[...this.open].map(([wire, isSeeder]) => describe(wire, isSeeder)), ...this.closed]
  }
}

function describe(wire: LedgerWire, isSeeder: boolean): WireStats {
  return {
    address: wire.remoteAddress === undefined ? '' : `${wire.remoteAddress}:${wire.remotePort ?? 0}`,
    peerId: wire.peerId ?? '',
    isSeeder,
    isOutgoing: wire.type === 'tcpOutgoing',
    uploadedBytes: wire.uploaded,
    downloadedBytes: wire.downloaded,
  }
}
