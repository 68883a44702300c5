import { test } from 'node:test'
import assert from 'node:assert/strict'
import { allowedFailures, parseFailBudget } from '../../lib/runner/fail-budget.ts'

test('max_fail reads a count or a percentage; nothing means no failure allowed', () => {
  assert.equal(allowedFailures(parseFailBudget(undefined), 8), 0)
  assert.equal(allowedFailures(parseFailBudget(''), 8), 0)
  assert.equal(allowedFailures(parseFailBudget('2'), 8), 2)
  assert.equal(allowedFailures(parseFailBudget(3), 8), 3)
  assert.equal(allowedFailures(parseFailBudget('25%'), 8), 2)
  assert.equal(allowedFailures(parseFailBudget('10%'), 8), 0, 'rounds down')
  assert.equal(allowedFailures(parseFailBudget('10%'), 30), 3)
  assert.equal(allowedFailures(parseFailBudget('100%'), 7), 7)
})

test('max_fail rejects what it cannot read, naming the value', () => {
  for (const bad of ['-1', 'two', '150%', '1.5', '%', '10 %x']) {
    assert.throws(() => parseFailBudget(bad), (error: Error) => error.message.includes(`got "${bad.trim()}"`), bad)
  }
})
