import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Interruptions } from '../../lib/ssh/command-interrupt.ts'

test('an armed command is stopped by Ctrl-C and its non-zero result says so; a clean exit stays clean', () => {
  const side = new Interruptions()
  const signals: string[] = []
  const command = side.forCommand(true)
  command.arm(() => signals.push('TERM'))
  assert.equal(side.interrupt('SIGTERM'), 1, 'how many it stopped')
  assert.deepEqual(signals, ['TERM'])
  assert.equal(command.explain({ code: null, stdout: '', stderr: '' }).interruptedBy, 'SIGTERM')
  assert.equal(command.explain({ code: 1, stdout: '', stderr: '' }).interruptedBy, 'SIGTERM', 'a command that ends non-zero on its SIGTERM')
  assert.equal(command.explain({ code: 0, stdout: '', stderr: '' }).interruptedBy, undefined)
})

test('a command begun before Ctrl-C but armed after it (its channel was opening) is stopped at once, or not started', () => {
  const side = new Interruptions()
  const command = side.forCommand(true)
  side.interrupt('SIGTERM')
  assert.equal(command.hasMissedInterrupt(), true)
  const signals: string[] = []
  command.arm(() => signals.push('TERM'))
  assert.deepEqual(signals, ['TERM'])
  // Begun after Ctrl-C (a failure path's command): not stopped.
  const later = side.forCommand(true)
  assert.equal(later.hasMissedInterrupt(), false)
  later.arm(() => signals.push('late'))
  assert.deepEqual(signals, ['TERM'])
  later.disarm()
  assert.equal(side.interrupt('SIGTERM'), 0, 'a disarmed command is not stopped')
  assert.deepEqual(signals, ['TERM'])
})

test('a command that survives interrupts is never stopped', () => {
  const side = new Interruptions()
  const command = side.forCommand(false)
  const signals: string[] = []
  command.arm(() => signals.push('TERM'))
  side.interrupt('SIGTERM')
  assert.equal(command.hasMissedInterrupt(), false)
  assert.deepEqual(signals, [])
  assert.equal(command.explain({ code: null, stdout: '', stderr: '' }).interruptedBy, undefined)
})
