// `deploy STAGE doctor`, as `cap STAGE doctor`: the environment, variables and servers a run would use.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DEPLOY_PROJECT_FILES, makeGitProject, runDryCli } from '../helpers/dry-run-project.ts'

test('doctor shows the stage, each variable with its origin (secrets masked, functions not run) and each server with its roles, connecting to none', async () => {
  const marker = 'lazy-was-run'
  const deployfile = `${DEPLOY_PROJECT_FILES['deployfile.ts']}import { set as define } from 'murder'\nimport { writeFileSync } from 'node:fs'\ndefine('build_id', () => { writeFileSync('${marker}', ''); return 7 })\ndefine('api_token', 'abcdefgh1234')\n`
  const project = makeGitProject('doctor', { ...DEPLOY_PROJECT_FILES, 'deployfile.ts': deployfile, 'roles/x.yaml': 'servers:\n  - host: deploy@one.invalid:2222\n    roles: [app, web]\n    primary: true\n  - host: two.invalid\n    roles: [db]\n' })
  try {
    const result = await runDryCli(['x', 'doctor', 'keep_releases=2'], project.dir, project.dir)
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stderr.split('\n')
    assert.ok(lines.some((line) => /^ {4}stage +x \(roles\/x\.yaml\)$/.test(line)), result.stderr)
    assert.ok(lines.some((line) => line.trim().split(/ +/).join(' ') === `deployfile ${join(project.dir, 'deployfile.ts')}`), result.stderr)
    // murder's own defaults are said so, not as a path into its package.
    assert.ok(lines.some((line) => /^ {4}tracker_port +8998 +murder's default$/.test(line)), result.stderr)
    assert.ok(lines.some((line) => /^ {4}application +"shop" +deployfile\.ts:2$/.test(line)), result.stderr)
    assert.ok(lines.some((line) => /^ {4}keep_releases +"2" +command line$/.test(line)), result.stderr)
    assert.ok(lines.some((line) => /^ {4}build_id +\(a function: evaluated at its first fetch\) +deployfile\.ts:\d+$/.test(line)), result.stderr)
    assert.ok(lines.some((line) => /^ {4}api_token +\*{8} \(named as a secret\)/.test(line)), result.stderr)
    assert.doesNotMatch(result.stderr, /abcdefgh1234/)
    assert.equal(existsSync(join(project.dir, marker)), false, 'a function set() gave is not run')
    assert.ok(lines.includes('Servers (2)'), result.stderr)
    assert.ok(lines.some((line) => /^ {4}deploy@one\.invalid:2222 +roles: app, web +primary: true$/.test(line)), result.stderr)
    assert.ok(lines.some((line) => /^ {4}two\.invalid +roles: db$/.test(line)), result.stderr)
    assert.doesNotMatch(result.stderr, /connecting|\$ /)
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})
