import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { thrownAt } from '../../lib/config/caller-location.ts'
import { PACKAGE_ROOT } from '../../lib/package-root.ts'

function errorWithFrames(...frames: string[]): Error {
  const error = new TypeError("Cannot read properties of null (reading 'foo')")
  error.stack = [`TypeError: ${error.message}`, ...frames.map((frame) => `    at ${frame}`)].join('\n')
  return error
}

test("a task body's error is placed at the deployfile's line, past murder's own frames and installed packages'", () => {
  const error = errorWithFrames(
    `ProcessPromise.run (${join('/proj/node_modules/zx/build/core.js')}:3:1)`,
    `onHosts (${join(PACKAGE_ROOT, 'lib/runner/on.ts')}:10:5)`,
    `file://${join('/proj', 'deploy%20file.ts')}:16:9`,
    `task (${join(PACKAGE_ROOT, 'bin/deploy.js')}:24:20)`
  )
  assert.match(thrownAt(error) ?? '', /\/proj\/deploy file\.ts:16$/)
})

test('an error with no frame of the deployfile, or no error at all, has no place', () => {
  assert.equal(thrownAt(errorWithFrames(`x (${join(PACKAGE_ROOT, 'lib/ssh/host-context.ts')}:1:1)`, 'node:internal/process/task_queues:95:5', `y (${join(PACKAGE_ROOT, 'dist/murder.mjs')}:9:9)`)), undefined)
  assert.equal(thrownAt('a string'), undefined)
})
