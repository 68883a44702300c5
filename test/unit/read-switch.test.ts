import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readSwitch } from '../../lib/config/read-switch.ts'
import type { Fetch } from '../../lib/torrent/murder-options.ts'

const given = (value: unknown): Fetch => (<T>(_name: string, fallback?: T) => (value === undefined ? fallback : value) as T)

test('an on/off variable: its default, booleans, and the words people write', () => {
  assert.equal(readSwitch(given(undefined), 'ssh_persistent_shell', true), true)
  assert.equal(readSwitch(given(false), 'ssh_persistent_shell', true), false)
  for (const word of ['0', 'false', 'No', ' off ']) assert.equal(readSwitch(given(word), 'ssh_persistent_shell', true), false)
  for (const word of ['1', 'TRUE', 'yes', 'on']) assert.equal(readSwitch(given(word), 'ssh_persistent_shell', false), true)
})

test('anything else is a usage error that names the variable and the fix', () => {
  assert.throws(() => readSwitch(given('maybe'), 'ssh_persistent_shell', true), {
    name: 'UsageError',
    message: 'ssh_persistent_shell must be true or false, got "maybe"; pass ssh_persistent_shell=true|false or fix where it is set (set() in the deployfile, or the stage file).',
  })
})
