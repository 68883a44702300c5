import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CommandInterrupt } from '../../lib/ssh/command-interrupt.ts'

/** The backend's side: the commands it may stop, and its count of Ctrl-Cs. */
function backend() {
  const running = new Set<() => void>()
  let interruptions = 0
  const interrupt = () => {
    interruptions++
    for (const stop of [...running]) stop()
    running.clear()
  }
  return { running, interrupt, count: () => interruptions }
}

test('an armed command is stopped by Ctrl-C and its non-zero result says so; a clean exit stays clean', () => {
  const side = backend()
  const signals: string[] = []
  const command = new CommandInterrupt(true, side.running, side.count, () => 'SIGTERM')
  command.arm(() => signals.push('TERM'))
  side.interrupt()
  assert.deepEqual(signals, ['TERM'])
  assert.equal(command.explain({ code: null, stdout: '', stderr: '' }).interruptedBy, 'SIGTERM')
  assert.equal(command.explain({ code: 1, stdout: '', stderr: '' }).interruptedBy, 'SIGTERM', 'a command that ends non-zero on its SIGTERM')
  assert.equal(command.explain({ code: 0, stdout: '', stderr: '' }).interruptedBy, undefined)
})

test('a command begun before Ctrl-C but armed after it (its channel was opening) is stopped at once, or not started', () => {
  const side = backend()
  const command = new CommandInterrupt(true, side.running, side.count, () => 'SIGTERM')
  side.interrupt()
  assert.equal(command.hasMissedInterrupt(), true)
  const signals: string[] = []
  command.arm(() => signals.push('TERM'))
  assert.deepEqual(signals, ['TERM'])
  // Begun after Ctrl-C (a failure path's command): not stopped.
  const later = new CommandInterrupt(true, side.running, side.count, () => 'SIGTERM')
  assert.equal(later.hasMissedInterrupt(), false)
  later.arm(() => signals.push('late'))
  assert.deepEqual(signals, ['TERM'])
  assert.equal(side.running.size, 1)
  later.disarm()
  assert.equal(side.running.size, 0)
})

test('a command that survives interrupts is never stopped', () => {
  const side = backend()
  const command = new CommandInterrupt(false, side.running, side.count, () => 'SIGTERM')
  const signals: string[] = []
  command.arm(() => signals.push('TERM'))
  side.interrupt()
  assert.equal(command.hasMissedInterrupt(), false)
  assert.deepEqual(signals, [])
  assert.equal(command.explain({ code: null, stdout: '', stderr: '' }).interruptedBy, undefined)
})
