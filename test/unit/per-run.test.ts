import { test } from 'node:test'
import assert from 'node:assert/strict'
import { perRun } from '../../lib/runner/per-run.ts'
import { currentSession, resetSession } from '../../lib/runner/session.ts'

test('a per-run value is made once per run and starts afresh with the next run', () => {
  let made = 0
  const locked = perRun(() => {
    made += 1
    return new Set<string>()
  })
  currentSession()
  locked().add('h01')
  assert.deepEqual([...locked()], ['h01'])
  resetSession()
  assert.deepEqual([...locked()], [], 'a new run holds no lock of the last one')
  assert.equal(made, 2)
})
