import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { WireLedger, type LedgerWire } from '../../lib/torrent/agent/wire-ledger.ts'

class FakeWire extends EventEmitter implements LedgerWire {
  uploaded = 0
  downloaded = 0
  constructor(
    public peerId: string,
    public type: string,
    public remoteAddress: string,
    public remotePort: number
  ) {
    super()
  }
}

test('bytes from the seeder and from peers are told apart, and counted after the wire closes', () => {
  const ledger = new WireLedger((wire) => wire.peerId === 'seeder')
  const seeder = new FakeWire('seeder', 'tcpOutgoing', '10.0.0.1', 6881)
  const peer = new FakeWire('p2', 'tcpIncoming', '10.0.0.2', 40000)
  ledger.add(seeder)
  ledger.add(peer)
  seeder.downloaded = 100
  peer.downloaded = 300
  peer.uploaded = 50
  assert.deepEqual(ledger.totals(), { uploadedBytes: 50, fromSeederBytes: 100, fromPeersBytes: 300, wires: 2 })
  seeder.emit('close')
  seeder.downloaded = 999
  assert.deepEqual(ledger.totals(), { uploadedBytes: 50, fromSeederBytes: 100, fromPeersBytes: 300, wires: 1 })
  assert.deepEqual(ledger.list(), [
    { address: '10.0.0.2:40000', peerId: 'p2', isSeeder: false, isOutgoing: false, uploadedBytes: 50, downloadedBytes: 300 },
    { address: '10.0.0.1:6881', peerId: 'seeder', isSeeder: true, isOutgoing: true, uploadedBytes: 0, downloadedBytes: 100 },
  ])
})
