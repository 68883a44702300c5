import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { chain } from '../../lib/ssh/command.ts'

test('chain quotes every word and joins the commands with &&', () => {
  assert.equal(chain([['mkdir', '-p', '/srv/my app'], ['ln', '-s', "it's", '/srv/$HOME']]), "mkdir -p '/srv/my app' && ln -s 'it'\\''s' '/srv/$HOME'")
})

test('a chained command run by sh stops at the first failure and leaves words as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chain-'))
  try {
    const file = join(dir, 'a b; touch pwned')
    const command = chain([['sh', '-c', 'printf "%s" "$1" > "$2"', 'sh', '$(id) `x`', file], ['false'], ['rm', file]])
    assert.throws(() => execFileSync('sh', ['-c', command], { stdio: 'pipe' }))
    assert.equal(readFileSync(file, 'utf8'), '$(id) `x`', 'the words reached the command unexpanded')
    assert.throws(() => readFileSync(join(dir, 'pwned')), 'nothing ran from inside a word')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
