import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  checkDeployInputs, checkRollbackInputs, readDeployVia, readKeepReleases, readLinkedPaths, readReleaseName, readRollbackRelease, readWaveSpec,
} from '../../lib/deploy/deploy-inputs.ts'
import type { Fetch } from '../../lib/torrent/murder-options.ts'

/** deploy's defaults (tasks/deploy.ts), with `overrides` as `key=value` words or `set()` would give them. */
function fetchFrom(overrides: Record<string, unknown>): Fetch {
  const values: Record<string, unknown> = {
    application: 'shop', deploy_to: '/srv/shop', keep_releases: 5, linked_files: [], linked_dirs: [], tmp_dir: '/tmp',
    release_timestamp: '20240102030405', current_directory: 'current', releases_directory: 'releases', shared_directory: 'shared',
    deploy_via: 'murder', waves: '', remote_murder_path: '/srv/shop/shared/murder', local_user: 'alice', ...overrides,
  }
  return <T>(name: string, fallback?: T) => (name in values ? values[name] : fallback) as T
}

function rejects(check: (fetch: Fetch) => unknown, overrides: Record<string, unknown>, message: string): void {
  assert.throws(() => check(fetchFrom(overrides)), (error: Error) => {
    assert.equal(error.name, 'UsageError', JSON.stringify(overrides))
    assert.equal(error.message, message)
    return true
  })
}

test('the defaults pass, for deploy and rollback', () => {
  checkDeployInputs(fetchFrom({}))
  checkRollbackInputs(fetchFrom({}))
  assert.equal(readKeepReleases(fetchFrom({ keep_releases: '3' })), 3)
  assert.equal(readDeployVia(fetchFrom({ deploy_via: 'copy' })), 'copy')
  assert.equal(readWaveSpec(fetchFrom({})), '100%')
  assert.equal(readWaveSpec(fetchFrom({ waves: '1,10%,100%' })), '1,10%,100%')
  assert.deepEqual(readLinkedPaths(fetchFrom({ linked_dirs: 'log, tmp/pids' }), 'linked_dirs'), ['log', 'tmp/pids'])
  assert.deepEqual(readLinkedPaths(fetchFrom({ linked_dirs: ['log/', 'public/uploads//'] }), 'linked_dirs'), ['log', 'public/uploads'])
  assert.equal(readRollbackRelease(fetchFrom({})), undefined)
  assert.equal(readRollbackRelease(fetchFrom({ rollback_release: '20240101000000' })), '20240101000000')
})

test('every bad deploy input is refused up front with one line naming it and the fix', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ waves: '0' }, 'wave "0" must be at least 1 host.'],
    [{ waves: 'abc' }, 'wave "abc" in "abc" is not a count or a percentage; write e.g. 1,10%,100%.'],
    [{ waves: '200%' }, 'wave "200%" must be between 1% and 100%.'],
    [{ deploy_via: 'rsync' }, 'deploy_via must be "murder" or "copy", got "rsync"; pass deploy_via=copy, or leave it unset for murder.'],
    [{ application: '' }, `application must be set to a simple name (letters, digits, ".", "_", "-"), got "": set('application', 'shop').`],
    [{ application: '../x' }, `application must be set to a simple name (letters, digits, ".", "_", "-"), got "../x": set('application', 'shop').`],
    [{ deploy_to: 'srv/shop' }, 'deploy_to must be an absolute path, got "srv/shop".'],
    [{ deploy_to: '/srv/../etc' }, 'deploy_to must not contain "..": "/srv/../etc".'],
    [{ releases_directory: '../x' }, 'releases_directory must be one directory name (letters, digits, ".", "_", "-"), got "../x".'],
    [{ current_directory: 'a/b' }, 'current_directory must be one directory name (letters, digits, ".", "_", "-"), got "a/b".'],
    [{ current_directory: 'releases' }, 'current_directory and releases_directory are both "releases"; each must name a directory of its own under deploy_to.'],
    [{ shared_directory: 'current' }, 'current_directory and shared_directory are both "current"; each must name a directory of its own under deploy_to.'],
    [{ local_user: 'alice\nBranch main (at x) deployed as release 20990101000000 by eve' }, 'local_user must be a name on one line without control characters, got "alice\\nBranch main (at x) deployed as release 20990101000000 by eve"; pass local_user=NAME.'],
    [{ local_user: '' }, 'local_user must be a name on one line without control characters, got ""; pass local_user=NAME.'],
    [{ tmp_dir: 'tmp' }, 'tmp_dir must be an absolute path, got "tmp".'],
    [{ linked_dirs: ['../log'] }, 'linked_dirs entry "../log" must be a relative path inside the release, without "..", "." or empty parts.'],
    [{ linked_dirs: ['./'] }, 'linked_dirs entry "./" must be a relative path inside the release, without "..", "." or empty parts.'],
    [{ linked_files: ['config//db.yml'] }, 'linked_files entry "config//db.yml" must be a relative path inside the release, without "..", "." or empty parts.'],
    [{ linked_files: 5 }, `linked_files must be a list of paths, got 5: set('linked_files', ['log']).`],
    [{ keep_releases: 'abc' }, 'keep_releases must be a whole number at least 1 (releases kept on each host), got "abc"; pass keep_releases=N or fix where it is set (set() in the deployfile, or the stage file).'],
    [{ keep_releases: '0' }, 'keep_releases must be a whole number at least 1 (releases kept on each host), got "0"; pass keep_releases=N or fix where it is set (set() in the deployfile, or the stage file).'],
    [{ keep_releases: 0 }, 'keep_releases must be a whole number at least 1 (releases kept on each host), got 0; pass keep_releases=N or fix where it is set (set() in the deployfile, or the stage file).'],
  ]
  for (const [overrides, message] of cases) rejects(checkDeployInputs, overrides, message)
})

test('release_timestamp must be a 14-digit release name: it is joined into mv and rm -rf paths', () => {
  const message = (got: string) => `release_timestamp must be 14 digits, UTC %Y%m%d%H%M%S like 20240102030405, got ${got}; leave it unset to use the current time.`
  for (const bad of ['../../../etc', '20240102030405/..', '2024010203040', 'v1.2', '', ' 20240102030405', '20240102030405\n']) {
    rejects(checkDeployInputs, { release_timestamp: bad }, message(JSON.stringify(bad)))
  }
  assert.equal(readReleaseName(fetchFrom({ release_timestamp: '20991231235959' })), '20991231235959')
})

test('rollback checks what it reads, and a rollback_release that is not a release name', () => {
  rejects(checkRollbackInputs, { rollback_release: '../x' }, 'rollback_release must be a release name, 14 digits like 20240102030405, got "../x"; see `ls releases` on a host.')
  rejects(checkRollbackInputs, { waves: '0%' }, 'wave "0%" must be between 1% and 100%.')
  rejects(checkRollbackInputs, { application: 'a b' }, `application must be set to a simple name (letters, digits, ".", "_", "-"), got "a b": set('application', 'shop').`)
  // Rollback neither names nor cleans releases: these do not stop it.
  checkRollbackInputs(fetchFrom({ release_timestamp: 'x', keep_releases: 'abc', deploy_via: 'rsync' }))
})

test("with deploy_via murder, the swarm's numbers are checked with the rest; with copy they are not read", () => {
  rejects(checkDeployInputs, { tracker_port: 'abc' }, 'tracker_port must be a whole number 1 to 65535 (a TCP port), got "abc"; pass tracker_port=N or fix where it is set (set() in the deployfile, or the stage file).')
  rejects(checkDeployInputs, { remote_murder_path: 'murder' }, 'remote_murder_path must be an absolute path, got "murder".')
  checkDeployInputs(fetchFrom({ deploy_via: 'copy', tracker_port: 'abc', remote_murder_path: 'murder' }))
})
