import { test } from 'node:test'
import assert from 'node:assert/strict'
import { deadHolderPid, isProcessRunning, lockHolderLine } from '../../lib/deploy/lock-holder.ts'

test("a lock's holder line names a dead deploy only when it ran on this machine and its process is gone", () => {
  const line = lockHolderLine('alice', 'ws1', 4242, new Date('2026-12-05T10:00:00Z'))
  assert.equal(line, 'alice@ws1 (pid 4242) since 2026-12-05T10:00:00.000Z')
  assert.equal(deadHolderPid(line, 'ws1', () => false), 4242)
  assert.equal(deadHolderPid(line, 'ws1', () => true), undefined, 'still running: a deploy under way')
  assert.equal(deadHolderPid(line, 'ws2', () => false), undefined, 'another machine: nothing known of its processes')
  assert.equal(deadHolderPid('deployed by hand', 'ws1', () => false), undefined, 'a line of another shape')
  assert.equal(deadHolderPid(`alice@ws1 (pid ${process.pid}) since 2026-12-05T10:00:00.000Z`, 'ws1', () => false), undefined, 'this very run')
  assert.equal(isProcessRunning(process.pid), true)
  assert.equal(isProcessRunning(2 ** 22 + 1), false)
})
