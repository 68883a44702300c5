import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EMPTY_LINE, editLine, type LineState } from '../../lib/cli/line-editor.ts'

/** Types each chunk in turn, as reads from a raw terminal bring them. */
function type(chunks: string[], isEchoed = true) {
  let state: LineState = EMPTY_LINE
  let echo = ''
  for (const chunk of chunks) {
    const step = editLine(state, chunk, isEchoed)
    state = step.state
    echo += step.echo
    if (step.end) return { text: state.text, echo, end: step.end }
  }
  return { text: state.text, echo, end: undefined }
}

test('a line ends at Enter (CR in raw mode, or LF), echoed as typed', () => {
  assert.deepEqual(type(['mai', 'n\r']), { text: 'main', echo: 'main\n', end: 'enter' })
  assert.deepEqual(type(['v2\n']), { text: 'v2', echo: 'v2\n', end: 'enter' })
  assert.deepEqual(type(['\r']), { text: '', echo: '\n', end: 'enter' })
})

test('a hidden answer echoes nothing but the end of the line', () => {
  assert.deepEqual(type(['s3cr', 'et\r'], false), { text: 's3cret', echo: '\n', end: 'enter' })
  assert.deepEqual(type(['ab\x7fc\r'], false), { text: 'ac', echo: '\n', end: 'enter' })
})

test('Backspace removes one character (a whole multi-byte one), Ctrl-U the line', () => {
  assert.deepEqual(type(['mian\x7f\x7f\x7fain\r']), { text: 'main', echo: 'mian\b \b\b \b\b \bain\n', end: 'enter' })
  assert.deepEqual(type(['\x7f\bx\r']), { text: 'x', echo: 'x\n', end: 'enter' })
  assert.equal(type(['café\x7fe\r']).text, 'cafe')
  assert.equal(type(['🚀x\x7f\x7fok\r']).text, 'ok')
  assert.deepEqual(type(['abc\x15d\r']), { text: 'd', echo: 'abc\b \b\b \b\b \bd\n', end: 'enter' })
})

test('Ctrl-C interrupts; Ctrl-D ends the input only on an empty line', () => {
  assert.equal(type(['mai\x03n\r']).end, 'interrupt')
  assert.deepEqual(type(['\x04']), { text: '', echo: '\n', end: 'end-of-input' })
  assert.deepEqual(type(['ab\x04c\r']), { text: 'abc', echo: 'abc\n', end: 'enter' })
})

test('arrow keys and other control keys are ignored, even split across reads', () => {
  assert.equal(type(['ma\x1b[D\x1b[Cin\r']).text, 'main')
  assert.equal(type(['ma\x1b', '[', 'Din\r']).text, 'main')
  assert.equal(type(['a\x1b[3~b\x1bOHc\r']).text, 'abc')
  assert.equal(type(['a\tb\x07c\r']).text, 'abc')
})

test('a stray Esc (or Alt with a key) never swallows Enter, Ctrl-C or the keys after it', () => {
  assert.deepEqual(type(['ab\x1b\r']), { text: 'ab', echo: 'ab\n', end: 'enter' })
  assert.equal(type(['\x1b\x03']).end, 'interrupt')
  assert.equal(type(['\x1b[Oab\r']).text, 'ab')
  assert.equal(type(['\x1b1ab\r']).text, 'ab')
  assert.equal(type(['a\x1b\x7fb\r']).text, 'b')
})
