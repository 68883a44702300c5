import { test } from 'node:test'
import assert from 'node:assert/strict'
import { after, before, invoke, task } from '../../lib/index.ts'
import { currentSession, resetSession } from '../../lib/runner/session.ts'

test('a function given as a hook runs as a hidden task of its own; a name and a function define that task (Capistrano\'s block form)', async () => {
  resetSession()
  const ran: string[] = []
  task('build', async () => void ran.push('build'))
  before('build', 'fetch_assets', async () => void ran.push('fetch_assets'))
  after('build', async () => void ran.push('first after'))
  after('build', async () => void ran.push('second after'))
  await invoke('build')
  assert.deepEqual(ran, ['fetch_assets', 'build', 'first after', 'second after'])
  const hidden = currentSession().registry.all().filter((definition) => definition.name.startsWith('after_'))
  assert.deepEqual(hidden.map((definition) => [definition.name, definition.desc]), [['after_build', undefined], ['after_build_2', undefined]])
})

test('a hook that is neither a task name nor a function is a one-line error naming the call and its line, exit 2', () => {
  resetSession()
  task('build', async () => {})
  assert.throws(() => after('build', 5 as unknown as string), (error: Error & { exitCode?: number }) => {
    assert.match(error.message, /hook-functions\.test\.ts:\d+: after\("build", …\): the hook must be a task's name or a function, got number$/)
    assert.equal(error.exitCode, 2)
    return true
  })
  assert.throws(() => before('build', async () => {}, async () => {}), /before\("build", …\): with three arguments, write before\(task, 'new_task_name', async \(\) => \{ … \}\)$/)
  task('notify', async () => {})
  assert.throws(() => after('build', 'notify', async () => {}), /after\("build", …\): a task notify already exists; name the hook's new task otherwise, or hook notify itself: after\("build", "notify"\)$/)
})

test('invoke(…, { again: true }) runs the task again with its hooks (deploy:verify after every wave); a plain invoke runs neither twice', async () => {
  resetSession()
  const ran: string[] = []
  task('verify', async () => void ran.push('verify'))
  before('verify', 'warm_up', async () => void ran.push('warm_up'))
  after('verify', async () => void ran.push('smoke_test'))
  await invoke('verify')
  await invoke('verify')
  assert.deepEqual(ran, ['warm_up', 'verify', 'smoke_test'])
  await invoke('verify', { again: true })
  assert.deepEqual(ran, ['warm_up', 'verify', 'smoke_test', 'warm_up', 'verify', 'smoke_test'])
})
