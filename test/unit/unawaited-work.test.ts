// A missing `await` before remote work: the block or task waits for it, then fails naming the call.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UnawaitedWork, shownCall } from '../../lib/runner/unawaited-work.ts'
import { makeGitProject, runDryCli } from '../helpers/dry-run-project.ts'

const at = (value: string) => ({ value })

test('work that settled is forgotten; what is still running fails the check once it settles, failures included', async () => {
  const work = new UnawaitedWork()
  await work.track(Promise.resolve(1), 'on()', at('deployfile.ts:3'))
  await work.check('task x')
  let finished = false
  work.track(new Promise((resolve) => setTimeout(() => resolve((finished = true)), 20)), shownCall('run', 'sleep 1'), at('deployfile.ts:7'))
  work.track(Promise.reject(new Error('lost')), shownCall('run', 'uptime\necho more'), at('deployfile.ts:8'))
  await assert.rejects(work.check('its on() block'), {
    name: 'ConfigError',
    message: 'remote.run(`sleep 1`) at deployfile.ts:7 was not awaited (and 1 more call(s)): its on() block returned while it ran (one of them failed: lost); write await before it.',
  })
  assert.equal(finished, true, 'the check waited for the command')
  assert.equal(shownCall('run', 'uptime\necho more'), 'remote.run(`uptime …`)')
})

const DEPLOYFILE = `import { on, roles, task } from 'murder'
task('forgot:run', async () => {
  await on(roles(), async (remote) => {
    remote.run('touch /tmp/unawaited')
  })
})
task('forgot:on', async () => {
  on(roles(), async (remote) => remote.run('uptime'))
})
task('awaited', async () => {
  await on(roles(), async (remote) => {
    await remote.run('uptime')
  })
})
`

test('in a run: a command or an on() not awaited fails the task with its line; awaited ones pass', async () => {
  const project = makeGitProject('unawaited', { 'deployfile.ts': DEPLOYFILE, 'roles/x.yaml': 'servers:\n  - host: one.invalid\n    roles: [app]\n' })
  const tmp = mkdtempSync(join(tmpdir(), 'murder-test-tmp-'))
  try {
    const forgotRun = await runDryCli(['x', 'forgot:run', '--dry-run'], project.dir, tmp)
    assert.notEqual(forgotRun.code, 0, forgotRun.stderr)
    assert.match(forgotRun.stderr, /remote\.run\(`touch \/tmp\/unawaited`\) at deployfile\.ts:4 was not awaited: its on\(\) block returned while it ran; write await before it\./)
    assert.doesNotMatch(forgotRun.stderr, /succeeded/)
    const forgotOn = await runDryCli(['x', 'forgot:on', '--dry-run'], project.dir, tmp)
    assert.notEqual(forgotOn.code, 0, forgotOn.stderr)
    assert.match(forgotOn.stderr, /on\(\) at deployfile\.ts:8 was not awaited: task forgot:on returned while it ran; write await before it\./)
    const awaited = await runDryCli(['x', 'awaited', '--dry-run'], project.dir, tmp)
    assert.equal(awaited.code, 0, awaited.stderr)
  } finally {
    for (const dir of [project.dir, tmp]) rmSync(dir, { recursive: true, force: true })
  }
})
