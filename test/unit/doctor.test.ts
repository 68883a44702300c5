// `deploy STAGE doctor`, as `cap STAGE doctor`: the environment, variables and servers a run would use.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DEPLOY_PROJECT_FILES, makeGitProject, runDryCli } from '../helpers/dry-run-project.ts'

const STAGE = [
  'variables:',
  '  smtp: { host: mail.example, password: stagesmtp99 }',
  'servers:',
  '  - host: deploy@one.invalid:2222',
  '    roles: [app, web]',
  '    primary: true',
  '  - host: two.invalid',
  '    roles: [db]',
  '    db_password: hostsecret77',
  '',
].join('\n')

test('doctor prints to stdout the stage, each variable with its origin (secrets masked at any depth, functions not run) and each server with its roles, connecting to none', async () => {
  const marker = 'lazy-was-run'
  const deployfile = [
    DEPLOY_PROJECT_FILES['deployfile.ts'],
    "import { set as define, ask } from 'murder'",
    "import { writeFileSync } from 'node:fs'",
    `define('build_id', () => { writeFileSync('${marker}', ''); return 7 })`,
    "define('database', { name: 'shop', password: 'nestedpw123', replicas: [{ host: 'r1', auth: { token: 'deeptoken42' } }] })",
    "define('repo_url', 'https://ci:urltoken555@git.example/shop.git')",
    "ask('branch', 'main')",
    "ask('vault_word', 'askedpw9876', { echo: false })",
    '',
  ].join('\n')
  const project = makeGitProject('doctor', { ...DEPLOY_PROJECT_FILES, 'deployfile.ts': deployfile, 'roles/x.yaml': STAGE })
  try {
    const result = await runDryCli(['x', 'doctor', 'keep_releases=2', 'ROLES=app'], project.dir, project.dir)
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stdout.split('\n')
    const has = (pattern: RegExp) => assert.ok(lines.some((line) => pattern.test(line)), `${pattern} in:\n${result.stdout}`)
    has(/^ {4}stage +x \(roles\/x\.yaml\)$/)
    assert.ok(lines.some((line) => line.trim().split(/ +/).join(' ') === `deployfile ${join(project.dir, 'deployfile.ts')}`), result.stdout)
    has(/^ {4}application +"shop" +deployfile\.ts:2$/)
    has(/^ {4}keep_releases +"2" +command line$/)
    // murder's own defaults are said so, not as a path into its package; a stage's, by its file.
    has(/^ {4}tracker_port +8998 +murder's default$/)
    has(/^ {4}smtp +\{"host":"mail\.example","password":"\*{8}"\} +roles\/x\.yaml$/)
    has(/^ {4}build_id +\(a function: evaluated at its first fetch\) +deployfile\.ts:\d+$/)
    has(/^ {4}branch +\(asked on the terminal at its first fetch; default: main\) +deployfile\.ts:\d+$/)
    has(/^ {4}vault_word +\(asked on the terminal at its first fetch; default: \*{8}\) +deployfile\.ts:\d+$/)
    has(/^ {4}database +\{"name":"shop","password":"\*{8}","replicas":\[\{"host":"r1","auth":\{"token":"\*{8}"\}\}\]\}/)
    has(/^ {4}linked_dirs +\[\] +murder's default$/)
    has(/^ {4}repo_url +"https:\/\/ci:\*{8}@git\.example\/shop\.git"/)
    for (const secret of ['nestedpw123', 'deeptoken42', 'urltoken555', 'stagesmtp99', 'hostsecret77', 'askedpw9876']) assert.doesNotMatch(result.stdout + result.stderr, new RegExp(secret))
    assert.equal(existsSync(join(project.dir, marker)), false, 'a function set() gave is not run')
    assert.ok(lines.includes('Servers (2; 1 left out by ROLES=/HOSTS=)'), result.stdout)
    has(/^ {4}deploy@one\.invalid:2222 +roles: app, web +primary: true$/)
    has(/^ {4}two\.invalid +roles: db +\(left out by ROLES=\/HOSTS=\), db_password: "\*{8}"$/)
    assert.doesNotMatch(result.stderr, /connecting|\$ /)
    // The report is data: -q hides the run's log, not it.
    const quiet = await runDryCli(['x', 'doctor', '-q'], project.dir, project.dir)
    assert.equal(quiet.code, 0, quiet.stderr)
    assert.match(quiet.stdout, /^Servers \(2\)$/m)
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})
