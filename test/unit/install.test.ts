// `deploy install`, as `cap install`: files to start from, which a dry run of `deploy` then accepts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDryCli } from '../helpers/dry-run-project.ts'

test('install writes a deployfile and a stage file per stage that a dry-run deploy accepts; run again it adds stages and leaves every file there as it is', async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'murder-install-')))
  try {
    writeFileSync(join(dir, 'package.json'), '{ "name": "@acme/shop" }\n')
    const first = await runDryCli(['install'], dir, dir)
    assert.equal(first.code, 0, first.stderr)
    assert.deepEqual(first.stderr.split('\n').slice(0, 3), ['create deployfile.ts', 'create roles/staging.yaml', 'create roles/production.yaml'])
    assert.match(readFileSync(join(dir, 'deployfile.ts'), 'utf8'), /^set\('application', 'shop'\)$/m)

    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'pipe' })
    git('init', '-q', '-b', 'main')
    git('add', '.')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'install')
    const listed = await runDryCli(['production', 'deploy', '--dry-run'], dir, dir)
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stderr, /^ {2}production\.example\.com \$ .*\/var\/www\/shop\/releases\//m)

    const edited = '// mine\n'
    writeFileSync(join(dir, 'roles/staging.yaml'), edited)
    const again = await runDryCli(['install', 'STAGES=qa,staging'], dir, dir)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.stderr.split('\n').slice(0, 3), ['exists, left as is: deployfile.ts', 'create roles/qa.yaml', 'exists, left as is: roles/staging.yaml'])
    assert.equal(readFileSync(join(dir, 'roles/staging.yaml'), 'utf8'), edited)

    const bad = await runDryCli(['install', 'STAGES=qa,../x'], dir, dir)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^error: Invalid stage name "\.\.\/x" in STAGES=; use letters, digits, "_" and "-" \(it names roles\/STAGE\.yaml\)\.$/m)
    const dry = await runDryCli(['install', 'STAGES=uat', '--dry-run'], dir, dir)
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, /^would create roles\/uat\.yaml$/m)
    assert.equal(existsSync(join(dir, 'roles/uat.yaml')), false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
