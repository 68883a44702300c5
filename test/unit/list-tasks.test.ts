import { test } from 'node:test'
import assert from 'node:assert/strict'
import { listTasks, noTaskMatches } from '../../lib/cli/list-tasks.ts'
import type { TaskDefinition } from '../../lib/registry.ts'

const task = (name: string, desc?: string): TaskDefinition => ({ name, desc, roles: [], body: undefined, origin: 'test' })
const TASKS = [task('deploy', 'Deploy'), task('deploy:check', 'Check'), task('deploy:verify'), task('demo:hello', 'Hello')]

test('-T lists described tasks matching the pattern, aligned', () => {
  assert.equal(listTasks(TASKS, 'deploy'), 'deploy deploy        # Deploy\ndeploy deploy:check  # Check\n')
  assert.equal(listTasks(TASKS, 'nomatch'), '')
})

test('-T lists `install` among the tasks, as cap -T lists cap install, unless the deployfile has a task of that name', () => {
  assert.equal(
    listTasks(TASKS, undefined),
    'deploy demo:hello    # Hello\ndeploy deploy        # Deploy\ndeploy deploy:check  # Check\n' +
      'deploy install       # Write deployfile.ts and roles/STAGE.yaml to start from (STAGES=staging,production)\n'
  )
  assert.equal(listTasks([...TASKS, task('install', 'Install the app')], 'install'), 'deploy install  # Install the app\n')
})

test('-T PATTERN matching nothing is an error (exit 1) naming the pattern and hidden tasks that match', () => {
  const none = noTaskMatches(TASKS, 'nomatch')
  assert.equal(none.message, 'No task matches "nomatch". Run `deploy -T` to list tasks.')
  assert.equal(none.exitCode, 1)
  assert.equal(noTaskMatches(TASKS, 'verify').message, 'No task matches "verify" (tasks without a desc are not listed: deploy:verify). Run `deploy -T` to list tasks.')
})
