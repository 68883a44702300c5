// `deploy install`, as `cap install`: files to start from, which a dry run of `deploy` then accepts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDryCli } from '../helpers/dry-run-project.ts'

function scratchProject(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'murder-install-')))
  writeFileSync(join(dir, 'package.json'), '{ "name": "@acme/shop!" }\n')
  return dir
}

test('install writes a deployfile and a stage file per stage that a dry-run deploy accepts; run again it adds stages and leaves every file there as it is', async () => {
  const dir = scratchProject()
  try {
    // From a subdirectory with no deployfile above: at the project's root, where package.json is.
    mkdirSync(join(dir, 'src/lib'), { recursive: true })
    const first = await runDryCli(['install'], join(dir, 'src/lib'), dir)
    assert.equal(first.code, 0, first.stderr)
    assert.deepEqual(first.stderr.split('\n').slice(0, 4), [`installing into ${dir}`, 'create deployfile.ts', 'create roles/staging.yaml', 'create roles/production.yaml'])
    assert.match(readFileSync(join(dir, 'deployfile.ts'), 'utf8'), /^set\('application', 'shop'\)$/m)

    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'pipe' })
    git('init', '-q', '-b', 'main')
    git('add', '.')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'install')
    const planned = await runDryCli(['production', 'deploy', '--dry-run'], dir, dir)
    assert.equal(planned.code, 0, planned.stderr)
    assert.match(planned.stderr, /^ {2}production\.example\.com \$ .*\/var\/www\/shop\/releases\//m)

    const edited = '// mine\n'
    writeFileSync(join(dir, 'roles/staging.yaml'), edited)
    const again = await runDryCli(['install', 'STAGES=qa,staging'], join(dir, 'src'), dir)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.stderr.split('\n').slice(0, 4), [`installing into ${dir}`, 'exists, left as is: deployfile.ts', 'create roles/qa.yaml', 'exists, left as is: roles/staging.yaml'])
    assert.equal(readFileSync(join(dir, 'roles/staging.yaml'), 'utf8'), edited)

    const dry = await runDryCli(['install', 'STAGES=uat', '--dry-run'], dir, dir)
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, /^would create roles\/uat\.yaml$/m)
    assert.doesNotMatch(dry.stderr, /^Next:/m)
    assert.equal(existsSync(join(dir, 'roles/uat.yaml')), false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('install refuses what it cannot do in one line, exit 2: a stage name that is no file name or is "install", -f; a file it cannot write is named', async () => {
  const dir = scratchProject()
  try {
    const refusals: [string[], RegExp][] = [
      [['install', 'STAGES=qa,../x'], /^error: Invalid stage name "\.\.\/x" in STAGES=; use letters, digits, "_" and "-" \(it names roles\/STAGE\.yaml\)\.$/m],
      [['install', 'STAGES=install'], /^error: A stage cannot be named "install": `deploy install` would run the installer, never that stage; choose another name\.$/m],
      [['-f', 'ops/deploy.ts', 'install'], /^error: install writes deployfile\.ts and roles\/ beside the deployfile found from here, or at the project root \(package\.json\); run it without -f\.$/m],
    ]
    for (const [args, message] of refusals) {
      const result = await runDryCli(args, dir, dir)
      assert.equal(result.code, 2, result.stderr)
      assert.match(result.stderr, message)
    }
    assert.equal(existsSync(join(dir, 'deployfile.ts')), false, 'nothing written')
    writeFileSync(join(dir, 'roles'), 'a file where the directory goes')
    const blocked = await runDryCli(['install'], dir, dir)
    assert.equal(blocked.code, 2, blocked.stderr)
    // What was written before the failure is said.
    assert.match(blocked.stderr, /^create deployfile\.ts\nerror: .*roles\/staging\.yaml: cannot write it: .*(EEXIST|ENOTDIR)/m)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
