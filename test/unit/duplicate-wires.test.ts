import { test } from 'node:test'
import assert from 'node:assert/strict'
import { wireToClose } from '../../lib/torrent/agent/duplicate-wires.ts'

const OUT = { name: 'out', isOutgoing: true }
const IN = { name: 'in', isOutgoing: false }

test('both ends close the same connection: the one dialed by the larger peer id', () => {
  const cases: [string, string, typeof OUT, typeof OUT, string][] = [
    // local < remote: local dialed the keeper, so its incoming one goes
    ['aa', 'bb', OUT, IN, 'in'],
    ['aa', 'bb', IN, OUT, 'in'],
    // local > remote: the remote dialed the keeper (our incoming one), our outgoing one goes
    ['bb', 'aa', OUT, IN, 'out'],
    ['bb', 'aa', IN, OUT, 'out'],
  ]
  for (const [local, remote, older, newer, expected] of cases) assert.equal(wireToClose(local, remote, older, newer).name, expected, `${local} ${remote} ${older.name}→${newer.name}`)
  // Seen from the other end, the same physical connection goes.
  assert.equal(wireToClose('aa', 'bb', OUT, IN).name, 'in')
  assert.equal(wireToClose('bb', 'aa', IN, OUT).name, 'out')
})

test('two wires in the same direction: the newer one goes', () => {
  const older = { name: 'older', isOutgoing: true }
  const newer = { name: 'newer', isOutgoing: true }
  assert.equal(wireToClose('aa', 'bb', older, newer).name, 'newer')
})
