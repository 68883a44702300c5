import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hostOutcomes } from '../../lib/report/host-outcomes.ts'

const inventory = ['h01', 'h02', 'h03', 'h04', 'h05']

test('failed hosts are listed in the inventory\'s order, not the order they failed in; one the inventory lacks comes last', () => {
  const failed = new Map([
    ['h04', new Error('h04: `false` exited 1')],
    ['elsewhere', new Error('unreachable')],
    ['h02', new Error('h02: `false` exited 1')],
  ])
  const outcomes = hostOutcomes(inventory, new Set(inventory), new Set(inventory), failed)
  assert.deepEqual(outcomes.failedHosts.map((entry) => entry.host), ['h02', 'h04', 'elsewhere'])
  assert.equal(outcomes.failedHosts[0]?.message, 'h02: `false` exited 1')
  assert.deepEqual(outcomes.succeededHosts, ['h01', 'h03', 'h05'])
})

test('hosts the filters left out that took part are helpers, not successes; untouched hosts are neither', () => {
  const kept = new Set(['h04', 'h05'])
  const touched = new Set(['h05', 'h01', 'h04'])
  const outcomes = hostOutcomes(inventory, kept, touched, new Map([['h04', new Error('no')]]))
  assert.deepEqual(outcomes, { succeededHosts: ['h05'], helperHosts: ['h01'], failedHosts: [{ host: 'h04', message: 'no' }], unstartedHosts: [] })
})

test('hosts a block never started are listed as such, unless another block ran on them', () => {
  const outcomes = hostOutcomes(inventory, new Set(inventory), new Set(['h01', 'h05']), new Map([['h02', new Error('no')]]), new Set(['h05', 'h04', 'h03']))
  assert.deepEqual(outcomes.unstartedHosts, ['h03', 'h04'])
})
