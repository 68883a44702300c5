// How a run ends when hosts fail, through the CLI from source in --dry-run (nothing connects).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeGitProject, runDryCli } from '../helpers/dry-run-project.ts'

const DEPLOYFILE = `import { fetch, on, roles, task } from 'murder'
task('boom', { desc: 'Fail on the hosts named by fail_on' }, async () => {
  const failing = String(fetch('fail_on')).split(',')
  await on(roles(), async (remote) => {
    await remote.run(['true'])
    if (failing.includes(remote.host.name)) throw new Error('failed on purpose')
  })
})
`
const STAGE = `servers:\n${['a', 'b', 'c', 'd'].map((name) => `  - host: ${name}.invalid\n    roles: [app]\n`).join('')}`

async function inProject(body: (run: (...args: string[]) => ReturnType<typeof runDryCli>) => Promise<void>): Promise<void> {
  const project = makeGitProject('outcome', { 'deployfile.ts': DEPLOYFILE, 'roles/x.yaml': STAGE })
  const tmp = mkdtempSync(join(tmpdir(), 'murder-test-tmp-'))
  try {
    await body((...args) => runDryCli(['x', 'boom', '--dry-run', ...args], project.dir, tmp))
  } finally {
    for (const dir of [project.dir, tmp]) rmSync(dir, { recursive: true, force: true })
  }
}

test('a run where every host failed exits 1 even within max_fail, saying so', async () => {
  await inProject(async (run) => {
    const some = await run('fail_on=a.invalid', 'max_fail=1')
    assert.equal(some.code, 0, some.stderr)
    const all = await run('fail_on=a.invalid,b.invalid,c.invalid,d.invalid', 'max_fail=100%')
    assert.equal(all.code, 1, all.stderr)
    assert.match(all.stderr, /^error: every target host has failed; max_fail=100% carries on past some, not all$/m)
    assert.match(all.stderr, /✖ 4 host\(s\) failed:/)
  })
})

test('in parallel, hosts waiting for a --concurrency slot never start once a host has failed', async () => {
  await inProject(async (run) => {
    const result = await run('fail_on=a.invalid', '-c', '1')
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /^· 3 host\(s\) never started \(the run stopped before them\): b\.invalid, c\.invalid, d\.invalid$/m)
    assert.doesNotMatch(result.stderr, /b\.invalid \$ true/)
  })
})
