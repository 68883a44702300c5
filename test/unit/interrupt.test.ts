import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Session } from '../../lib/runner/session.ts'
import { interruptedExitCode } from '../../lib/runner/interrupt.ts'
import type { RunEvent } from '../../lib/report/events.ts'

/** A session listening for signals; `quit` records its exit status instead of exiting. */
function listening(): { session: Session; warnings: string[]; quits: number[]; stop: () => void } {
  const session = new Session()
  const warnings: string[] = []
  session.reporter = { emit: (event: RunEvent) => void (event.type === 'message' && event.level === 'warn' && warnings.push(event.text)) }
  const quits: number[] = []
  const stop = session.interruption.listen(session, {
    isStartedByNpm: false,
    quit: (code) => {
      quits.push(code)
      throw new Error('quit')
    },
  })
  return { session, warnings, quits, stop }
}

/** Emits a signal to this process's listeners; `quit` throws out of the listener, as process.exit would end it. */
function send(signal: NodeJS.Signals): void {
  try {
    process.emit(signal)
  } catch (error) {
    if ((error as Error).message !== 'quit') throw error
  }
}

test('each signal interrupts with its own cause and exit status: Ctrl-C 130, SIGTERM 143, SIGHUP 129', () => {
  assert.deepEqual([interruptedExitCode('Ctrl-C'), interruptedExitCode('SIGTERM'), interruptedExitCode('SIGHUP'), interruptedExitCode('the end of npm')], [130, 143, 129, 143])
  for (const [signal, cause] of [['SIGINT', 'Ctrl-C'], ['SIGTERM', 'SIGTERM'], ['SIGHUP', 'SIGHUP']] as const) {
    const { session, warnings, stop } = listening()
    try {
      send(signal)
      assert.equal(session.interruption.isInterrupted, true)
      assert.equal(session.interruption.cause, cause)
      assert.match(warnings[0] ?? '', cause === 'Ctrl-C' ? /^interrupted: stopping remote work/ : new RegExp(`^interrupted by ${cause}: stopping remote work`))
    } finally {
      stop()
    }
  }
})

test('a signal repeated within a second is the same one delivered twice; a repeated SIGTERM never quits; a later Ctrl-C does', async () => {
  const { warnings, quits, stop } = listening()
  try {
    send('SIGTERM')
    send('SIGINT') // the terminal's and npm's copy of one Ctrl-C arrive together
    assert.deepEqual(quits, [])
    await new Promise((resolve) => setTimeout(resolve, 1100))
    send('SIGTERM')
    send('SIGTERM')
    assert.deepEqual(quits, [], 'the cleanup goes on')
    assert.equal(warnings.filter((text) => text === 'SIGTERM again: the cleanup goes on (a Ctrl-C quits at once)').length, 1, 'said once')
    send('SIGINT')
    assert.deepEqual(quits, [130])
    assert.match(warnings.at(-1) ?? '', /^interrupted again: quitting now; agents or a deploy lock may be left \(see `deploy STAGE murder:stop_all_peering`, `unlock=1`\)$/)
  } finally {
    stop()
  }
})
