// Capistrano 3 itself (Debian's `cap`) and `deploy` take turns on the same hosts: each reads the
// other's releases/, current and revisions.log, and `current` always points where the last one said.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeProject, runCli, REPO_ROOT, type CliResult } from '../helpers/cli.ts'
import { ensureFarm, onHost, readOnHost } from '../helpers/farm.ts'

const DEPLOY_TO = '/var/www/interop'
const USER = 'interop-tester'
let hosts: string[] = []
let project = ''
let capDir = ''
let sharedDir = ''

function git(...args: string[]): string {
  return execFileSync('git', ['-C', project, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim()
}

/** Commits a new VERSION and pushes it to the bare repository `cap` deploys from. */
function commitVersion(version: string): string {
  writeFileSync(join(project, 'VERSION'), `${version}\n`)
  git('add', 'VERSION')
  git('commit', '-qm', `version ${version}`)
  git('push', '-q', 'origin', 'main')
  return git('rev-parse', 'HEAD')
}

async function pause(): Promise<void> {
  // Both tools name releases by the second.
  await new Promise((resolve) => setTimeout(resolve, 1100))
}

async function cap(task: string): Promise<void> {
  await pause()
  const result = spawnSync('cap', ['farm', task], { cwd: capDir, encoding: 'utf8', env: { ...process.env, USER }, timeout: 240_000 })
  assert.equal(result.status, 0, `cap farm ${task} failed:\n${result.stdout}\n${result.stderr}`)
}

async function ours(...args: string[]): Promise<CliResult> {
  await pause()
  const result = await runCli(['farm', ...args], { cwd: project, env: { USER } })
  assert.equal(result.code, 0, `deploy farm ${args.join(' ')} failed:\n${result.stderr}`)
  return result
}

const releaseOf = (host: string) => readOnHost(host, `readlink ${DEPLOY_TO}/current`).trim().split('/').at(-1) ?? ''
const versionOf = (host: string) => readOnHost(host, `cat ${DEPLOY_TO}/current/VERSION`).trim()
const logOf = (host: string) => readOnHost(host, `cat ${DEPLOY_TO}/revisions.log`).trim().split('\n')

/** Every host runs `version` from one release, the same everywhere; returns that release. */
function expectEverywhere(version: string): string {
  const release = releaseOf(hosts[0] ?? '')
  assert.match(release, /^\d{14}$/)
  for (const host of hosts) {
    assert.equal(releaseOf(host), release, `${host}: current`)
    assert.equal(versionOf(host), version, `${host}: VERSION through current`)
  }
  return release
}

before(() => {
  assert.equal(spawnSync('cap', ['--version']).status, 0, 'Capistrano is missing: apt-get install capistrano')
  hosts = ensureFarm(8)
  project = makeProject('interop', 'interop.ts')
  // Hosts see the controller's filesystem except their private /tmp, /var/tmp, /srv, /var/www and
  // home (test/farm/farm.sh), and this clone may live in any of those: the bare repository goes to
  // /var/lib, which every host shares.
  sharedDir = mkdtempSync('/var/lib/murder-interop-')
  chmodSync(sharedDir, 0o755)
  const bare = join(sharedDir, 'interop.git')
  writeFileSync(join(project, '.gitignore'), 'roles/farm.yaml\n')
  git('init', '-q', '-b', 'main')
  git('add', '.')
  git('commit', '-qm', 'app')
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare])
  git('remote', 'add', 'origin', bare)

  // Capistrano's own project: the farm as its stage, the bare repository as repo_url.
  capDir = join(REPO_ROOT, 'test/.work/interop-cap')
  execFileSync('rm', ['-rf', capDir])
  mkdirSync(join(capDir, 'config/deploy'), { recursive: true })
  writeFileSync(join(capDir, 'Capfile'), "require 'capistrano/setup'\nrequire 'capistrano/deploy'\nrequire 'capistrano/scm/git'\ninstall_plugin Capistrano::SCM::Git\n")
  writeFileSync(
    join(capDir, 'config/deploy.rb'),
    [
      "set :application, 'interop'",
      `set :repo_url, '${bare}'`,
      "set :branch, 'main'",
      `set :deploy_to, '${DEPLOY_TO}'`,
      'set :keep_releases, 5',
      "set :format, :pretty",
      `set :ssh_options, { keys: ['${join(REPO_ROOT, '.farm/id_ed25519')}'], auth_methods: ['publickey'], verify_host_key: :never }`,
    ].join('\n') + '\n'
  )
  const farmStage = readFileSync(join(REPO_ROOT, 'roles/farm.yaml'), 'utf8')
  const addresses = hosts.map((host) => farmAddress(host))
  assert.ok(farmStage.length > 0)
  writeFileSync(join(capDir, 'config/deploy/farm.rb'), addresses.map((address) => `server '${address}', user: 'deploy', roles: %w[app]\n`).join(''))
  for (const host of hosts) {
    // The bare repository belongs to root; git refuses to read another user's repository unless told.
    onHost(host, `rm -rf ${DEPLOY_TO} && git config --global --replace-all safe.directory '*'`)
  }
})

after(() => {
  if (sharedDir !== '') rmSync(sharedDir, { recursive: true, force: true })
})

/** The address sshd sees the controller reach this host on, read through the farm's ssh_config. */
function farmAddress(host: string): string {
  const config = execFileSync('ssh', ['-G', '-F', join(REPO_ROOT, '.farm/ssh_config'), host], { encoding: 'utf8' })
  return /^hostname (\S+)$/m.exec(config)?.[1] ?? host
}

test('cap deploy, deploy, cap deploy:rollback, deploy, deploy:rollback: each tool follows the other', async () => {
  const sha1 = commitVersion('1')
  await cap('deploy')
  const release1 = expectEverywhere('1')
  assert.deepEqual(logOf(hosts[0] ?? ''), [`Branch main (at ${sha1}) deployed as release ${release1} by ${USER}`])

  const sha2 = commitVersion('2')
  await ours('deploy')
  const release2 = expectEverywhere('2')
  for (const host of hosts) {
    assert.equal(readOnHost(host, `cat ${DEPLOY_TO}/releases/${release2}/REVISION`).trim(), sha2)
    assert.equal(logOf(host).at(-1), `Branch main (at ${sha2}) deployed as release ${release2} by ${USER}`)
  }

  await cap('deploy:rollback')
  assert.equal(expectEverywhere('1'), release1, 'cap rolled back to its own release')
  for (const host of hosts) {
    assert.equal(logOf(host).at(-1), `${USER} rolled back to release ${release1}`)
    // cap's cleanup_rollback archives and removes the release it left.
    assert.equal(onHost(host, `test -e ${DEPLOY_TO}/releases/${release2}`).code, 1, `${host}: ${release2} removed by cap`)
  }

  const sha3 = commitVersion('3')
  await ours('deploy')
  const release3 = expectEverywhere('3')
  assert.equal(logOf(hosts[0] ?? '').at(-1), `Branch main (at ${sha3}) deployed as release ${release3} by ${USER}`)

  await ours('deploy:rollback')
  assert.equal(expectEverywhere('1'), release1, 'ours rolled back to the release cap made')
  for (const host of hosts) {
    const log = logOf(host)
    assert.equal(log.length, 5, `${host}: one line per deploy and rollback`)
    assert.equal(log.at(-1), `${USER} rolled back to release ${release1}`)
  }
})
