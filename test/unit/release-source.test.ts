import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { prepareReleaseSource, removeReleaseSource } from '../../lib/deploy/release-source.ts'
import { makeGitProject } from '../helpers/dry-run-project.ts'

/** Runs `fn` with os.tmpdir() at a fresh directory, and returns what was left in it. */
async function leftoversOf(fn: () => Promise<void>): Promise<string[]> {
  const saved = process.env['TMPDIR']
  const scratch = mkdtempSync(join(tmpdir(), 'murder-test-scratch-'))
  process.env['TMPDIR'] = scratch
  try {
    await fn()
    return readdirSync(scratch)
  } finally {
    if (saved === undefined) delete process.env['TMPDIR']
    else process.env['TMPDIR'] = saved
    rmSync(scratch, { recursive: true, force: true })
  }
}

const tarList = (tgz: string) => execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean).sort()

test('the packed release is removed with removeReleaseSource (twice is fine)', async () => {
  const project = makeGitProject('pack', { 'deployfile.ts': 'export {}\n', 'app/index.html': 'shop\n' })
  try {
    const left = await leftoversOf(async () => {
      const fromGit = await prepareReleaseSource(project.dir, '', false)
      assert.deepEqual(tarList(fromGit.tgzPath), ['app/', 'app/index.html', 'deployfile.ts'])
      assert.equal(fromGit.sha, project.sha)
      const fromDirectory = await prepareReleaseSource(project.dir, 'app', false)
      assert.deepEqual(tarList(fromDirectory.tgzPath), ['./', './index.html'])
      removeReleaseSource(fromGit)
      removeReleaseSource(fromDirectory)
      removeReleaseSource(fromDirectory)
      assert.equal(existsSync(fromGit.tgzPath), false)
    })
    assert.deepEqual(left, [])
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})

test('a deployfile in a subdirectory still ships the whole repository, as Capistrano does', async () => {
  const project = makeGitProject('nested', { 'ops/deployfile.ts': 'export {}\n', 'app/index.html': 'shop\n' })
  try {
    const release = await prepareReleaseSource(join(project.dir, 'ops'), '', false)
    assert.deepEqual(tarList(release.tgzPath), ['app/', 'app/index.html', 'ops/', 'ops/deployfile.ts'])
    assert.equal(release.sha, project.sha)
    removeReleaseSource(release)
    writeFileSync(join(project.dir, 'app/index.html'), 'changed\n')
    await assert.rejects(prepareReleaseSource(join(project.dir, 'ops'), '', false), /uncommitted change/, 'a change outside the subdirectory is still a dirty tree')
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})

test('a .tgz given as release_source is used where it lies and never removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'murder-test-tgz-'))
  try {
    mkdirSync(join(dir, 'app'))
    writeFileSync(join(dir, 'app/index.html'), 'shop\n')
    execFileSync('tar', ['-czf', join(dir, 'app.tgz'), '-C', join(dir, 'app'), '.'])
    const left = await leftoversOf(async () => {
      const release = await prepareReleaseSource(dir, 'app.tgz', false)
      assert.equal(release.tgzPath, join(dir, 'app.tgz'))
      removeReleaseSource(release)
    })
    assert.deepEqual(left, [])
    assert.equal(existsSync(join(dir, 'app.tgz')), true)
    // A plain tar (or anything else) named .tgz is refused here, not by tar on every host.
    execFileSync('tar', ['-cf', join(dir, 'plain.tgz'), '-C', join(dir, 'app'), '.'])
    writeFileSync(join(dir, 'empty.tar.gz'), '')
    for (const name of ['plain.tgz', 'empty.tar.gz']) {
      await assert.rejects(prepareReleaseSource(dir, name, false), new RegExp(`^ConfigError: release_source ${name.replace('.', '\\.')} is not gzip-compressed \\(its first bytes are not 1f 8b\\); make it with \`tar -czf\`, or point release_source at the directory$`))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a release that cannot be packed leaves no temporary directory behind', async () => {
  const project = makeGitProject('dirty', { 'deployfile.ts': 'export {}\n' })
  const plain = mkdtempSync(join(tmpdir(), 'murder-test-plain-'))
  try {
    writeFileSync(join(project.dir, 'deployfile.ts'), '// changed\n')
    const left = await leftoversOf(async () => {
      await assert.rejects(prepareReleaseSource(project.dir, '', false), /Refusing to deploy: the working tree has 1 uncommitted change/)
      await assert.rejects(prepareReleaseSource(plain, '', false), /is not a git repository/)
      await assert.rejects(prepareReleaseSource(plain, 'missing', false), new RegExp(`release_source missing \\(${join(plain, 'missing')}\\) does not exist`))
    })
    assert.deepEqual(left, [])
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
    rmSync(plain, { recursive: true, force: true })
  }
})

test("branch packs that branch's commit, whatever is checked out or uncommitted; one that does not resolve is refused", async () => {
  const project = makeGitProject('branch', { 'deployfile.ts': 'export {}\n', 'app/index.html': 'v1\n' })
  const git = (...args: string[]) => execFileSync('git', args, { cwd: project.dir, encoding: 'utf8' }).trim()
  try {
    git('branch', 'hotfix')
    writeFileSync(join(project.dir, 'app/index.html'), 'v2\n')
    git('commit', '-qam', 'v2')
    writeFileSync(join(project.dir, 'app/index.html'), 'uncommitted\n')
    const release = await prepareReleaseSource(project.dir, '', false, 'hotfix')
    assert.equal(release.branch, 'hotfix')
    assert.equal(release.sha, project.sha)
    assert.equal(execFileSync('tar', ['-xzOf', release.tgzPath, 'app/index.html'], { encoding: 'utf8' }), 'v1\n')
    removeReleaseSource(release)
    await assert.rejects(prepareReleaseSource(project.dir, '', false, 'nope'), /^ConfigError: branch nope is no branch, tag or commit of the git repository at .*; see `git branch -a`, or leave branch unset to deploy HEAD$/)
    await assert.rejects(prepareReleaseSource(project.dir, '', false, '--output=x'), /^ConfigError: branch "--output=x" is no name git takes/)
    await assert.rejects(prepareReleaseSource(project.dir, 'app', false, 'hotfix'), /^ConfigError: branch hotfix names a commit of the git repository, and release_source replaces the repository; give one of them$/)
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})
