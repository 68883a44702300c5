import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkStrategyOptions, runWithStrategy } from '../../lib/runner/strategies.ts'

const hosts = ['h01', 'h02', 'h03'].map((name) => ({ name }))

test("an outcome lists hosts in the inventory's order, not the order they finished in", async () => {
  const delays: Record<string, number> = { h01: 30, h02: 0, h03: 15 }
  const outcome = await runWithStrategy(hosts, {}, async ({ name }) => {
    await new Promise((resolve) => setTimeout(resolve, delays[name]))
    if (name === 'h03') throw new Error('down')
    return name.toUpperCase()
  }, () => false)
  assert.deepEqual([...outcome.values.keys()], ['h01', 'h02'])
  assert.deepEqual([...outcome.values.values()], ['H01', 'H02'])
  assert.deepEqual([...outcome.failures.keys()], ['h03'])
})

test('limit with in: "sequence" is refused, saying what to write instead', () => {
  assert.throws(() => checkStrategyOptions({ in: 'sequence', limit: 3 }), {
    name: 'UsageError',
    message: 'on(): "limit" has no meaning with in: "sequence" (one host at a time); drop it, or use in: "groups" with limit 3',
  })
  checkStrategyOptions({ in: 'groups', limit: 3 })
  checkStrategyOptions({ in: 'sequence', wait: 0 })
})
