import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LineSplitter } from '../../lib/report/line-splitter.ts'

function split(chunks: (Buffer | string)[]): string[] {
  const lines: string[] = []
  const splitter = new LineSplitter((line) => lines.push(line))
  for (const chunk of chunks) splitter.push(chunk)
  splitter.end()
  return lines
}

test('lines are cut at newlines wherever the chunks end, CRLF too, and the last line without one is kept', () => {
  assert.deepEqual(split(['a', 'b', 'c\nd', 'e\r\n', '\n', 'f']), ['abc', 'de', '', 'f'])
  assert.deepEqual(split(['one\n']), ['one'])
  assert.deepEqual(split(['', '']), [])
})

test('a character split across chunks is decoded whole', () => {
  const euro = Buffer.from('€\n')
  assert.deepEqual(split([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)]), ['€'])
})

test('one long line in many chunks arrives whole', () => {
  const chunk = Buffer.alloc(32 * 1024, 'x')
  const lines = split([...Array.from({ length: 256 }, () => chunk), '\nnext'])
  assert.deepEqual(lines.map((line) => line.length), [8 * 1024 * 1024, 4])
})
