import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SwarmStats } from '../../lib/torrent/protocol.ts'
import { statsWriter } from '../../lib/torrent/agent/stats-file.ts'

test('statsWriter: writes asked for at once never collide, and the file ends with the latest counters', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'murder-stats-'))
  const path = join(directory, 'peer.T.stats.json')
  let downloadedBytes = 0
  const collect = () => ({ kind: 'peer', tag: 'T', downloadedBytes } as unknown as SwarmStats)
  const save = statsWriter(path, collect)
  const writes: Promise<void>[] = []
  for (let step = 1; step <= 50; step++) {
    downloadedBytes = step
    writes.push(save())
  }
  await Promise.all(writes)
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { downloadedBytes: number }).downloadedBytes, 50)
  assert.deepEqual(readdirSync(directory), ['peer.T.stats.json'], 'no temporary file left behind')
})
