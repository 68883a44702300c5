import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConsoleReporter } from '../../lib/report/console-reporter.ts'
import { createPaint, wantsColour } from '../../lib/report/format.ts'
import type { RunEvent } from '../../lib/report/events.ts'

function linesOf(events: RunEvent[], verbosity: 'normal' | 'quiet' | 'verbose' = 'normal'): string[] {
  let text = ''
  const reporter = new ConsoleReporter({ write: (chunk) => { text += chunk }, isTTY: false }, createPaint(false), verbosity, verbosity === 'verbose')
  for (const event of events) reporter.emit(event)
  return text.split('\n').filter((line) => line !== '')
}

test('stdout and stderr lines are told apart without colour', () => {
  assert.deepEqual(linesOf([
    { type: 'output', host: 'h01', stream: 'stdout', line: 'fine' },
    { type: 'output', host: 'h01', stream: 'stderr', line: 'careful' },
  ]), ['  h01 | fine', '  h01 ! careful'])
})

test("a quiet command's stderr (a capture's) shows only where its command line does: under --verbose", () => {
  const events: RunEvent[] = [
    { type: 'command', host: 'h01', command: 'cat VERSION', quiet: true },
    { type: 'output', host: 'h01', stream: 'stderr', line: 'cat: VERSION: No such file or directory', quiet: true },
  ]
  assert.deepEqual(linesOf(events), [])
  assert.deepEqual(linesOf(events, 'verbose'), ['  h01 $ cat VERSION', '  h01 ! cat: VERSION: No such file or directory'])
})

test('a task that carried on without failed hosts is marked apart from one that simply succeeded', () => {
  const end = { type: 'task-end', task: 'app:check', durationMs: 1200, ok: true } as const
  const eight = Array.from({ length: 8 }, (_, index) => `h0${index + 1}`)
  assert.deepEqual(linesOf([
    end,
    { ...end, failedHosts: ['h04'] },
    { ...end, failedHosts: ['h04', 'h07'] },
    { ...end, failedHosts: eight },
    { ...end, ok: false },
  ]), [
    '✔ app:check 1.20s',
    '! app:check 1.20s carried on without h04',
    '! app:check 1.20s carried on without h04, h07',
    '! app:check 1.20s carried on without 8 hosts (h01, h02, h03, h04, h05, …)',
    '✖ app:check 1.20s',
  ])
  // --quiet hides a plain success, not a task that lost hosts.
  assert.deepEqual(linesOf([end, { ...end, failedHosts: ['h04'] }], 'quiet'), ['! app:check 1.20s carried on without h04'])
})

test('once closed (the summary is out), nothing more is written below it', () => {
  let text = ''
  const reporter = new ConsoleReporter({ write: (chunk) => { text += chunk }, isTTY: false }, createPaint(false), 'normal', false)
  reporter.emit({ type: 'host-failed', host: 'h01', message: 'h01: failed' })
  reporter.close()
  reporter.emit({ type: 'host-failed', host: 'h05', message: 'h05: lost the connection while running a command: connection closed' })
  assert.equal(text, '  h01 ✖ failed\n')
})

test('a command of several lines keeps its host on each line', () => {
  let text = ''
  const reporter = new ConsoleReporter({ write: (chunk) => { text += chunk }, isTTY: false }, createPaint(false), 'normal', false)
  reporter.emit({ type: 'command', host: 'h02', command: "( export NOTE='line1\nline2' ; printf %s \"$NOTE\" )" })
  reporter.emit({ type: 'host-failed', host: 'h02', message: 'lost the connection' })
  assert.equal(text, "  h02 $ ( export NOTE='line1\n  h02 > line2' ; printf %s \"$NOTE\" )\n  h02 ✖ lost the connection\n")
})

test('colour: on a terminal or with FORCE_COLOR (a CI log that renders it); never with NO_COLOR, nor FORCE_COLOR=0', () => {
  assert.equal(wantsColour(true, {}), true)
  assert.equal(wantsColour(false, {}), false)
  assert.equal(wantsColour(false, { FORCE_COLOR: '1' }), true)
  assert.equal(wantsColour(false, { FORCE_COLOR: '' }), true)
  assert.equal(wantsColour(true, { FORCE_COLOR: '0' }), false)
  assert.equal(wantsColour(true, { NO_COLOR: '1' }), false)
  assert.equal(wantsColour(false, { NO_COLOR: '1', FORCE_COLOR: '1' }), false, "NO_COLOR is the reader's own choice")
})

test('-q hides info lines but not what the run published', () => {
  const lines = linesOf([
    { type: 'message', level: 'info', text: 'keeping 2 of 3 releases on h01' },
    { type: 'message', level: 'outcome', text: 'Branch main (at abc) deployed as release 20261205000000 by ci (8 host(s))' },
  ], 'quiet')
  assert.deepEqual(lines, ['Branch main (at abc) deployed as release 20261205000000 by ci (8 host(s))'])
})
