import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readInteger } from '../../lib/config/read-integer.ts'
import type { Fetch } from '../../lib/torrent/murder-options.ts'

function fetchFrom(values: Record<string, unknown>): Fetch {
  return <T>(name: string, fallback?: T) => (name in values ? values[name] : fallback) as T
}

const PORT = { min: 1, max: 65535, unit: 'a TCP port' }

test('numbers from key=value words and from set(), and the fallback', () => {
  assert.equal(readInteger(fetchFrom({ tracker_port: '8998' }), 'tracker_port', 1, PORT), 8998)
  assert.equal(readInteger(fetchFrom({ tracker_port: 7000 }), 'tracker_port', 1, PORT), 7000)
  assert.equal(readInteger(fetchFrom({}), 'tracker_port', 8998, PORT), 8998)
  assert.equal(readInteger(fetchFrom({ peer_timeout: ' 0 ' }), 'peer_timeout', 1, { min: 0, unit: 'seconds' }), 0)
})

test('anything but a whole number in range is refused with a line naming the variable', () => {
  for (const bad of ['abc', '', '12.5', '1e3', '-1', '70000', 'NaN', 3.5, null, true]) {
    assert.throws(
      () => readInteger(fetchFrom({ tracker_port: bad }), 'tracker_port', 1, PORT),
      (error: Error) => error.name === 'UsageError' && error.message.startsWith('tracker_port must be a whole number 1 to 65535 (a TCP port), got ') && !error.message.includes('\n'),
      String(bad)
    )
  }
})
