import { test } from 'node:test'
import assert from 'node:assert/strict'
import { finishedTransferFiles } from '../../lib/torrent/agent/finished-transfers.ts'

const filesOf = (kind: string, tag: string, mtimeMs: number, suffixes = ['.log', '.events.jsonl', '.stats.json']) =>
  suffixes.map((suffix) => ({ name: `${kind}.${tag}${suffix}`, mtimeMs }))

test('the files of ended transfers beyond the newest few go; running ones, other kinds and other files stay', () => {
  const files = [
    ...filesOf('peer', 'shop-20240101000000', 1),
    ...filesOf('peer', 'shop-20240102000000', 2),
    ...filesOf('peer', 'shop-20240103000000', 3),
    ...filesOf('peer', 'old.but.running', 0, ['.pid', '.log', '.events.jsonl']),
    ...filesOf('seed', 'shop-20240101000000', 1),
    { name: 'tracker.log', mtimeMs: 0 },
    { name: 'whitelist', mtimeMs: 0 },
    { name: 'peer.', mtimeMs: 0 },
  ]
  assert.deepEqual(finishedTransferFiles(files, 'peer', 2).sort(), filesOf('peer', 'shop-20240101000000', 1).map((file) => file.name).sort())
  assert.deepEqual(finishedTransferFiles(files, 'peer', 3), [])
  assert.deepEqual(finishedTransferFiles(files, 'seed', 0).sort(), filesOf('seed', 'shop-20240101000000', 1).map((file) => file.name).sort())
})

test('a transfer counts as changed when its newest file changed; a dotted tag is one transfer', () => {
  const files = [
    { name: 'peer.a.b.log', mtimeMs: 1 },
    { name: 'peer.a.b.events.jsonl', mtimeMs: 9 },
    { name: 'peer.c.log', mtimeMs: 5 },
  ]
  assert.deepEqual(finishedTransferFiles(files, 'peer', 1), ['peer.c.log'])
})
