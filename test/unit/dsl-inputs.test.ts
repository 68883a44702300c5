// The deployfile DSL's forms from Capistrano and SSHKit habits, and its one-line errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fetch, log, on, set, task } from '../../lib/index.ts'
import { currentSession, resetSession } from '../../lib/runner/session.ts'
import { listTasks } from '../../lib/cli/list-tasks.ts'

test('fetch with a function as the default calls it only when the variable is unset (Capistrano\'s fetch(:x) { … })', () => {
  resetSession()
  let calls = 0
  const fallback = () => {
    calls += 1
    return 'computed'
  }
  set('branch', 'main')
  assert.equal(fetch('branch', fallback), 'main')
  assert.equal(fetch('repo_tree', fallback), 'computed')
  assert.equal(calls, 1)
  assert.equal(fetch('keep_releases', 5), 5)
})

test('task(name, desc, fn) lists with its desc; a desc of several lines shows its first in -T', () => {
  resetSession()
  task('restart', 'Restart the app', async () => {})
  task('migrate', { desc: 'Run migrations\nagainst the primary database' }, async () => {})
  assert.equal(listTasks(currentSession().registry.all(), 'r'), 'deploy migrate  # Run migrations\ndeploy restart  # Restart the app\n')
})

test('task() options it does not know are refused at load, not ignored (a role typo ran the task on every host)', () => {
  resetSession()
  const refused = (options: object, message: RegExp) => assert.throws(() => task('rotate', options, async () => {}), (error: Error) => error.name === 'ConfigError' && message.test(error.message))
  refused({ description: 'x', role: 'db' }, /: task\("rotate", …\): unknown option "description", "role"; the options are desc, roles$/)
  refused({ desc: 'x', hosts: ['h05'] }, /: task\("rotate", …\): unknown option "hosts"; the options are desc, roles; to run on named hosts, use on\(\[…\], …\) in the body$/)
  task('rotate', { desc: 'Rotate logs', roles: 'db' }, async () => {})
})

test('log takes "info" or "warn"; on() options it does not know, or of the wrong kind, are one-line errors, exit 2', async () => {
  resetSession()
  assert.throws(() => log('x', 'error' as 'warn'), { message: 'log(text, level): the level is "info" or "warn", got "error"' })
  const exitCode = (error: unknown) => (error as { exitCode?: number }).exitCode
  const cases: [object, string][] = [
    [{ limt: 2 }, 'on(): unknown option "limt"; the options are in, limit, wait, onError, ignoreFilters'],
    [{ wait: '1' }, 'on(): "wait" must be a number of seconds >= 0, got "1"'],
    [{ in: 'serial' }, 'on(): unknown in: "serial"; use "parallel", "sequence" or "groups"'],
    [{ onError: 'ignore' }, 'on(): "onError" must be "stop", "continue" or "fail", got "ignore"'],
    [{ ignoreFilters: 'yes' }, 'on(): "ignoreFilters" must be true or false, got "yes"'],
  ]
  for (const [options, message] of cases) {
    await assert.rejects(
      (async () => on([], options, async () => {}))(),
      (error: Error) => error.message === message && exitCode(error) === 2,
      JSON.stringify(options)
    )
  }
})

test('fetch of a name nothing set, without a default, warns once with the closest name; with a default it does not', () => {
  resetSession()
  const said: string[] = []
  currentSession().reporter = { emit: (event) => void (event.type === 'message' && said.push(event.text)) }
  set('app_root', '/srv/app')
  assert.equal(fetch('app_rot'), undefined)
  assert.equal(fetch('app_rot'), undefined)
  assert.equal(fetch('cache_dir', undefined), undefined)
  assert.equal(fetch('stage'), undefined)
  assert.deepEqual(said, ["fetch('app_rot'): no such variable (did you mean app_root?); it reads as undefined: set it, pass app_rot=VALUE, or give fetch a default: fetch('app_rot', DEFAULT)"])
})
