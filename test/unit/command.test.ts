import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { chain, stdinIntoFile } from '../../lib/ssh/command.ts'

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

test('stdinIntoFile writes stdin to the path through a file of its own, renamed into place, and leaves no partial file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stdin-into-'))
  try {
    const path = join(dir, "it's.torrent")
    writeFileSync(path, 'what was there')
    execFileSync('sh', ['-c', stdinIntoFile(path)], { input: 'd8:announce4:xxxxe' })
    assert.equal(readFileSync(path, 'utf8'), 'd8:announce4:xxxxe')
    assert.deepEqual(readdirSync(dir), ["it's.torrent"])
    // Where the partial file cannot be made, it fails, writing nothing.
    assert.throws(() => execFileSync('sh', ['-c', stdinIntoFile(join(dir, 'missing', 'x.torrent'))], { input: 'x', stdio: 'pipe' }))
    assert.deepEqual(readdirSync(dir), ["it's.torrent"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
