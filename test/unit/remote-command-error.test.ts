import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RemoteCommandError } from '../../lib/errors.ts'

test('a failed command names its last two stderr lines: the last alone is often an epilogue after the reason', () => {
  const sudo = new RemoteCommandError('h01', 'id -un', 1, ['sudo: unknown user nosuch', 'sudo: error initializing audit plugin sudoers_audit'])
  assert.equal(sudo.message, 'h01: `id -un` exited 1: sudo: unknown user nosuch / sudo: error initializing audit plugin sudoers_audit')
  const tar = new RemoteCommandError('h02', 'tar -xzf x.tgz', 2, ['one', 'tar: x.tgz: Cannot open: No such file or directory', 'tar: Error is not recoverable: exiting now'])
  assert.match(tar.message, /exited 2: tar: x\.tgz: Cannot open: No such file or directory \/ tar: Error is not recoverable: exiting now$/)
  assert.deepEqual(tar.details, ['one'])
  assert.equal(new RemoteCommandError('h03', 'false', 1, []).message, 'h03: `false` exited 1')
})

test('a command the interruption stopped says what stopped it, whatever it printed', () => {
  const stopped = new RemoteCommandError('h01', 'sleep 60', null, ['Terminated'], 'Ctrl-C')
  assert.equal(stopped.message, 'h01: `sleep 60` was killed: stopped by Ctrl-C')
  assert.deepEqual(stopped.details, ['Terminated'])
  const cancelled = new RemoteCommandError('h01', 'sleep 60', 143, [], 'SIGTERM')
  assert.equal(cancelled.message, 'h01: `sleep 60` exited 143: stopped by SIGTERM')
  // As deployfiles wrote it before signals other than Ctrl-C were told apart.
  assert.equal(new RemoteCommandError('h01', 'sleep 60', null, [], true).message, 'h01: `sleep 60` was killed: stopped by Ctrl-C')
  assert.equal(new RemoteCommandError('h01', 'false', 1, [], false).message, 'h01: `false` exited 1')
})
