import { test } from 'node:test'
import assert from 'node:assert/strict'
import { questionText, valueOfAnswer } from '../../lib/config/question.ts'
import { Variables } from '../../lib/config/variables.ts'

test("the question in Capistrano's words, with its default in brackets", () => {
  assert.equal(questionText('branch', 'main'), 'Please enter branch (main): ')
  assert.equal(questionText('branch', undefined), 'Please enter branch: ')
  assert.equal(questionText('branch', ''), 'Please enter branch: ')
  assert.equal(questionText('branch', 'main', 'Branch to deploy'), 'Branch to deploy (main): ')
  assert.equal(questionText('db_password', undefined, 'Database password'), 'Database password: ')
})

test('an answer wins; an empty one, the end of input or no terminal take the default', () => {
  assert.equal(valueOfAnswer('branch', { kind: 'typed', text: 'v2' }, 'main'), 'v2')
  assert.equal(valueOfAnswer('branch', { kind: 'typed', text: '' }, 'main'), 'main')
  assert.equal(valueOfAnswer('branch', { kind: 'end-of-input' }, 'main'), 'main')
  assert.equal(valueOfAnswer('branch', { kind: 'no-terminal' }, 'main'), 'main')
  assert.equal(valueOfAnswer('replicas', { kind: 'no-terminal' }, 3), 3)
})

test('with no answer and no default the run stops, saying why and how to give the value', () => {
  assert.throws(() => valueOfAnswer('branch', { kind: 'no-terminal' }, undefined), {
    name: 'UsageError',
    message: 'No value for branch: it is asked for on the terminal, but stdin is not one; pass branch=VALUE on the command line.',
  })
  assert.throws(() => valueOfAnswer('branch', { kind: 'typed', text: '' }, undefined), {
    message: 'No value for branch: the answer was empty and it has no default; pass branch=VALUE on the command line.',
  })
  assert.throws(() => valueOfAnswer('branch', { kind: 'end-of-input' }, null), {
    message: 'No value for branch: the input ended before an answer; pass branch=VALUE on the command line.',
  })
})

test('a variable marked secret is masked whatever its name, once its value is known', () => {
  const variables = new Variables()
  variables.set('vault_word', () => 'typed-hidden', 'test')
  variables.markSecret('vault_word')
  variables.set('branch', 'main', 'test')
  assert.deepEqual(variables.valuesOf(() => false), [])
  assert.equal(variables.fetch('vault_word'), 'typed-hidden')
  assert.deepEqual(variables.valuesOf(() => false), ['typed-hidden'])
})
