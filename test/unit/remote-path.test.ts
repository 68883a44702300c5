import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inDirectory, quotePath, sftpPath } from '../../lib/ssh/remote-path.ts'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildCommand } from '../../lib/ssh/command.ts'

test('a leading ~ is left for the shell to expand, the rest of the path quoted', () => {
  assert.equal(quotePath('~'), '~')
  assert.equal(quotePath('~/app'), '~/app')
  assert.equal(quotePath("~/my app's"), `~/'my app'\\''s'`)
  assert.equal(quotePath('/srv/~x'), "'/srv/~x'")
  assert.equal(quotePath('~other/x'), `'~other/x'`, 'only the login directory is expanded')
  assert.equal(buildCommand('pwd', { cwd: '~/a b' }), "cd ~/'a b' && ( pwd )")
})

test('a relative directory starting with - is a path to cd and test, not an option', () => {
  assert.equal(quotePath('-P'), './-P')
  assert.equal(buildCommand('pwd', { cwd: '-release' }), 'cd ./-release && ( pwd )')
  const scratch = mkdtempSync(join(tmpdir(), 'dash-'))
  mkdirSync(join(scratch, '-P'))
  const where = execFileSync('sh', ['-c', `cd ${JSON.stringify(scratch)} && test -d ${quotePath('-P')} && ${buildCommand('pwd', { cwd: '-P' })}`], { encoding: 'utf8' })
  assert.equal(where.trim(), join(scratch, '-P'))
})

test('within a directory, every command of a string runs there or none does; an array is one command', () => {
  // Unwrapped, `cd DIR && a; rm -f *.log` ran the rm in the login directory when the cd failed.
  assert.equal(buildCommand('echo in $(pwd); rm -f *.log', { cwd: '/srv/app' }), "cd /srv/app && ( echo in $(pwd); rm -f *.log )")
  assert.equal(buildCommand('false || pwd', { cwd: '/tmp' }), 'cd /tmp && ( false || pwd )')
  assert.equal(buildCommand(['rm', '-f', 'a b.log'], { cwd: '/srv/app' }), "cd /srv/app && rm -f 'a b.log'")
  assert.equal(buildCommand('make', { cwd: '/srv/app', env: { CC: 'gcc' } }), 'cd /srv/app && ( export CC=gcc ; make )')
  // A comment or a here-doc's end must not swallow the closing parenthesis.
  assert.equal(buildCommand('make # build', { cwd: '/srv/app' }), 'cd /srv/app && ( make # build\n)')
  assert.equal(buildCommand('cat > f <<EOF\nx\nEOF', { cwd: '/srv/app' }), 'cd /srv/app && ( cat > f <<EOF\nx\nEOF\n)')
})

test('for SFTP, which starts in the login directory, ~/x is x', () => {
  assert.equal(sftpPath('~/x/y.txt'), 'x/y.txt')
  assert.equal(sftpPath('~'), '.')
  assert.equal(sftpPath('/tmp/x'), '/tmp/x')
  assert.equal(sftpPath('rel/x'), 'rel/x')
})

test('a relative path is inside within()\'s directory; an absolute or ~ path is not', () => {
  assert.equal(inDirectory('/srv/app/', 'log'), '/srv/app/log')
  assert.equal(inDirectory('~/app', 'log'), '~/app/log')
  assert.equal(inDirectory('/srv/app', '~/x'), '~/x')
  assert.equal(inDirectory('/srv/app', '/etc/x'), '/etc/x')
  assert.equal(inDirectory(undefined, 'x'), 'x')
})

test('command words and environment values may be numbers; anything else is a one-line error', () => {
  assert.equal(buildCommand(['sleep', 5]), 'sleep 5')
  assert.equal(buildCommand('echo "$N"', { env: { N: '4' } }), `( export N=4 ; echo "$N" )`)
  assert.throws(() => buildCommand(['echo', { a: 1 } as unknown as string]), { name: 'UsageError', message: 'word 2 of the command is an object; pass a string or a number' })
  assert.throws(() => buildCommand(['echo', undefined as unknown as string]), /word 2 of the command is undefined/)
  assert.throws(() => buildCommand(5 as unknown as string), /a command is a string or an array of words, got number 5/)
})
