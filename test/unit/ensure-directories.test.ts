// The command runs in a real /bin/sh on a scratch directory.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureDirectoriesCommand } from '../../lib/deploy/ensure-directories.ts'

test('makes missing directories, with parents and odd names; succeeds when all exist', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'murder-dirs-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const paths = [join(root, 'shared'), join(root, "shared/it's a log"), join(root, 'releases'), join(root, 'shared')]
  const command = ensureDirectoriesCommand(paths)
  assert.equal(command.match(/\[ -d /g)?.length, 3, 'each directory tested once')
  for (let run = 0; run < 2; run++) {
    execFileSync('/bin/sh', ['-c', command])
    for (const path of paths) assert.ok(statSync(path).isDirectory(), path)
  }
})

test('no directories: a command that does nothing', () => {
  assert.equal(ensureDirectoriesCommand([]), ':')
})

test('fails when a file is in the way', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'murder-dirs-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  writeFileSync(join(root, 'releases'), 'not a directory')
  assert.throws(() => execFileSync('/bin/sh', ['-c', ensureDirectoriesCommand([join(root, 'shared'), join(root, 'releases')])], { stdio: 'pipe' }))
})
