import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeProject, runCli, type CliResult } from '../helpers/cli.ts'
import { ensureFarm, onHost, readOnHost } from '../helpers/farm.ts'

const DEPLOY_TO = '/var/www/shop'
// murder is the default transport; the swap-under-reads test also covers `copy`.
const VIA = process.env['DEPLOY_VIA'] ?? 'murder'
let hosts: string[] = []
let project = ''
let appDir = ''
let version = 0

function expectOk(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stderr}`)
}

/** Writes a new version of the app into the release source directory. */
function nextVersion(): number {
  version++
  writeFileSync(join(appDir, 'VERSION'), `${version}\n`)
  return version
}

async function deploy(...args: string[]): Promise<CliResult> {
  // Release names have one-second resolution, as in Capistrano.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const via = args.some((arg) => arg.startsWith('deploy_via=')) ? [] : [`deploy_via=${VIA}`]
  return runCli(['farm', ...args, `release_source=${appDir}`, ...via], { cwd: project })
}

const currentOf = (host: string) => readOnHost(host, `readlink ${DEPLOY_TO}/current`).trim()
const versionOf = (host: string) => readOnHost(host, `cat ${DEPLOY_TO}/current/VERSION`).trim()
const releasesOf = (host: string) => readOnHost(host, `ls ${DEPLOY_TO}/releases`).trim().split('\n')

function resetHosts(): void {
  for (const host of hosts) onHost(host, `rm -rf ${DEPLOY_TO} && mkdir -p ${DEPLOY_TO}/shared/config && echo "secret: 1" > ${DEPLOY_TO}/shared/config/app.yml`)
}

before(() => {
  hosts = ensureFarm(8)
  project = makeProject('deploy', 'deploy.ts')
  appDir = join(project, 'app')
  mkdirSync(join(appDir, 'config'), { recursive: true })
  writeFileSync(join(appDir, 'index.html'), '<h1>shop</h1>\n')
  resetHosts()
})

test('three deploys with keep_releases 2: two releases, current at the newest, three log lines, shared links', async () => {
  const stamps: string[] = []
  // Before the third deploy, h01 holds a complete release newer than current, as a deploy killed
  // before its swap leaves one: never live, it goes, and neither pushes out the release before
  // current nor waits there for a rollback.
  const leftover = () => String(Number(stamps[1]) + 1)
  for (let i = 0; i < 3; i++) {
    nextVersion()
    if (i === 2) readOnHost(hosts[0] ?? '', `cp -a ${DEPLOY_TO}/releases/${stamps[1]} ${DEPLOY_TO}/releases/${leftover()}`)
    // The second under -q: what went out is said even there.
    const result = await deploy('deploy', ...(i === 1 ? ['-q'] : []))
    expectOk(result, `deploy ${i + 1}`)
    stamps.push(currentOf(hosts[0] ?? '').split('/').at(-1) ?? '')
    assert.match(result.stderr, new RegExp(`^Branch unknown \\(at unknown\\) deployed as release ${stamps.at(-1)} by \\S+ \\(${hosts.length} host\\(s\\)\\)$`, 'm'))
    if (i === 2) assert.match(result.stderr, new RegExp(`\\nwarning: ${hosts[0]}: removed release\\(s\\) newer than current that no deploy published \\(a deploy stopped before its swap left them\\): ${leftover()}\\n`))
    if (i === 2) assert.match(result.stderr, new RegExp(`keeping 2 of 3 releases on ${hosts.join(', ')}\\n`))
  }
  for (const host of hosts) {
    assert.deepEqual(releasesOf(host), stamps.slice(1), `${host} keeps the two newest`)
    assert.equal(currentOf(host), `${DEPLOY_TO}/releases/${stamps[2]}`)
    assert.equal(versionOf(host), String(version))
    const log = readOnHost(host, `cat ${DEPLOY_TO}/revisions.log`).trim().split('\n')
    assert.equal(log.length, 3)
    log.forEach((line, index) => assert.match(line, new RegExp(`^Branch unknown \\(at unknown\\) deployed as release ${stamps[index]} by \\S+$`)))
    assert.equal(readOnHost(host, `readlink -f ${DEPLOY_TO}/current/config/app.yml`).trim(), `${DEPLOY_TO}/shared/config/app.yml`)
    assert.equal(readOnHost(host, `readlink -f ${DEPLOY_TO}/current/log`).trim(), `${DEPLOY_TO}/shared/log`)
    assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, 'the lock is released')
  }
})

test('rollback goes back one release and logs it; with nothing to roll back to it fails and changes nothing', async () => {
  const before = currentOf(hosts[0] ?? '')
  const [older] = releasesOf(hosts[0] ?? '')
  const rolled = await deploy('deploy:rollback')
  expectOk(rolled, 'rollback')
  for (const host of hosts) {
    assert.equal(currentOf(host), `${DEPLOY_TO}/releases/${older}`)
    assert.deepEqual(releasesOf(host), [older], 'the release rolled away from is archived and removed')
    // As Capistrano's: the release's path without its leading slash.
    assert.equal(readOnHost(host, `tar -tzf ${DEPLOY_TO}/rolled-back-release-${before.split('/').at(-1)}.tar.gz | head -n 1`).trim(), `${before.slice(1)}/`)
    assert.match(readOnHost(host, `tail -1 ${DEPLOY_TO}/revisions.log`), new RegExp(`^\\S+ rolled back to release ${older}\\n$`))
  }
  const toCurrent = await deploy('deploy:rollback', `ROLLBACK_RELEASE=${older}`)
  assert.equal(toCurrent.code, 1)
  assert.match(toCurrent.stderr, new RegExp(`cannot roll back: release ${older} is already current on ${hosts.join(', ')}\\.`))
  const nothing = await deploy('deploy:rollback')
  assert.equal(nothing.code, 1)
  assert.match(nothing.stderr, new RegExp(`${hosts[0]} ✖ cannot roll back: there is no previous release in ${DEPLOY_TO}/releases\\.`))
  for (const host of hosts) {
    assert.equal(currentOf(host), `${DEPLOY_TO}/releases/${older}`)
    assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, 'the lock is released after a failure')
  }
})

test('after a rollback to an older release, the next rollback goes before current, and a deploy keeps the newer release that was live', async () => {
  const stamp = () => currentOf(hosts[0] ?? '').split('/').at(-1) ?? ''
  const start = stamp()
  const made: string[] = []
  for (let i = 0; i < 3; i++) {
    nextVersion()
    expectOk(await deploy('deploy', 'keep_releases=9'), `deploy ${i + 1}`)
    made.push(stamp())
  }
  const [first = '', second = ''] = made
  expectOk(await deploy('deploy:rollback', `ROLLBACK_RELEASE=${first}`, 'keep_releases=9'), 'rollback to the first')
  // Rolled away from the third: it goes, the second (live once) stays.
  for (const host of hosts) assert.deepEqual(releasesOf(host), [start, first, second], host)
  expectOk(await deploy('deploy:rollback', 'keep_releases=9'), 'rollback before current')
  for (const host of hosts) {
    assert.equal(currentOf(host), `${DEPLOY_TO}/releases/${start}`, `${host}: the release before current, not the second newest (${second})`)
    assert.deepEqual(releasesOf(host), [start, second], `${host}: the release rolled away from (${first}) goes`)
  }
  nextVersion()
  const next = await deploy('deploy', 'keep_releases=9')
  expectOk(next, 'deploy after the rollbacks')
  assert.doesNotMatch(next.stderr, /never published/, 'the second was live once: kept')
  for (const host of hosts) assert.deepEqual(releasesOf(host), [start, second, stamp()], host)
})

test("Capistrano's idioms: a hook before deploy:check:linked_files puts the file there; releasePath(), current_revision, previous_revision and default_env in deploy:updated; release_path in a rollback", async () => {
  const bare = hosts[2] ?? ''
  const file = `${DEPLOY_TO}/shared/config/app.yml`
  onHost(bare, `rm -f ${file}`)
  try {
    for (const host of hosts) onHost(host, `echo abc123 > ${DEPLOY_TO}/current/REVISION`)
    const previous = currentOf(hosts[0] ?? '')
    nextVersion()
    // keep_releases=9: the releases the next tests expect stay (the release made here goes with the rollback).
    expectOk(await deploy('deploy', 'push_config=1', 'record_paths=1', 'keep_releases=9', 'env_path=/opt/shop/bin'), 'deploy with the hooks')
    for (const host of hosts) {
      const current = currentOf(host)
      assert.notEqual(current, previous)
      // release_source is a directory: no git revision, `unknown` as in REVISION.
      assert.deepEqual(readOnHost(host, `cat ${current}/HOOK_PATHS`).trim().split('\n'), [current, 'unknown', 'abc123'], host)
      assert.equal(readOnHost(host, `cat ${file}`), 'secret: pushed\n', `${host}: the hook's linked file`)
      // default_env reached the hook's commands (with DEPLOY_VIA murder, the default, the swarm's agent commands ran under it too).
      assert.equal(readOnHost(host, `cat ${current}/HOOK_ENV`), 'production\n/opt/shop/bin\n', `${host}: default_env`)
    }
    expectOk(await deploy('deploy:rollback', 'record_paths=1', 'keep_releases=9'), 'rollback with the hook')
    for (const host of hosts) {
      assert.equal(currentOf(host), previous, host)
      assert.equal(readOnHost(host, `cat ${DEPLOY_TO}/rolled-back-to`).trim(), previous, `${host}: release_path in deploy:reverted`)
    }
  } finally {
    for (const host of hosts) onHost(host, `echo "secret: 1" > ${file} && rm -f ${DEPLOY_TO}/rolled-back-to`)
  }
})

test('a rollback where hosts hold different previous releases is refused, naming them, and changes nothing', async () => {
  const odd = hosts[1] ?? ''
  const state = (host: string) => readOnHost(host, `ls -A ${DEPLOY_TO}/releases; readlink ${DEPLOY_TO}/current`)
  const previous = releasesOf(odd).at(-2) ?? ''
  // Renamed within releases/ (so its time stays) to a name `ls` does not list.
  onHost(odd, `mv ${DEPLOY_TO}/releases/${previous} ${DEPLOY_TO}/releases/.aside`)
  const before = hosts.map(state)
  try {
    const result = await deploy('deploy:rollback', 'keep_releases=9')
    assert.equal(result.code, 1, result.stderr)
    const others = hosts.filter((host) => host !== odd).join(', ')
    assert.match(result.stderr, new RegExp(`hosts hold different previous releases \\(${previous} on ${others}; \\d{14} on ${odd}\\); pass rollback_release=NAME of a release every host has, or leave some out with HOSTS=\\.`))
    hosts.forEach((host, index) => {
      assert.equal(state(host), before[index], `${host} unchanged`)
      assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, `${host}: no lock left`)
    })
  } finally {
    onHost(odd, `mv ${DEPLOY_TO}/releases/.aside ${DEPLOY_TO}/releases/${previous}`)
  }
})

test('a failed deploy:verify in the second wave puts wave one back and never switches the rest', async () => {
  nextVersion()
  expectOk(await deploy('deploy'), 'base deploy')
  const old = currentOf(hosts[0] ?? '')
  nextVersion()
  for (const host of hosts) onHost(host, `rm -f ${DEPLOY_TO}/switched-back`)
  // Waves 1, 3, rest: h01 | h02 h03 | h04…; the health check fails on h03.
  const result = await deploy('deploy', '--waves', '1,3,100%', 'fail_verify_on=h03')
  assert.equal(result.code, 1)
  assert.match(result.stderr, /deploy:verify failed in wave 2 of 3/)
  assert.match(result.stderr, /never switched: h04, h05, h06, h07, h08/)
  for (const host of hosts) assert.equal(currentOf(host), old, `${host} runs the old release`)
  // deploy:switched_back ran on every host put back, h03 whose check failed among them.
  const marked = hosts.filter((host) => onHost(host, `test -e ${DEPLOY_TO}/switched-back`).code === 0)
  assert.deepEqual(marked, ['h01', 'h02', 'h03'])
})

test('a loop reading through current never fails while current is swapped', async () => {
  const reader = hosts[1] ?? ''
  // 2000 reads through `current` while two deploys swap it; any failed read prints FAIL.
  const loop = spawn('ssh', ['-F', join(process.cwd(), '.farm/ssh_config'), reader,
    `fails=0; for i in $(seq 1 4000); do cat ${DEPLOY_TO}/current/VERSION >/dev/null 2>&1 || fails=$((fails+1)); done; echo "fails=$fails"`])
  let out = ''
  loop.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const finished = new Promise((resolve) => loop.on('close', resolve))
  nextVersion()
  expectOk(await deploy('deploy'), 'deploy during reads')
  nextVersion()
  expectOk(await deploy('deploy', 'deploy_via=copy'), 'second deploy (copy) during reads')
  await finished
  assert.equal(out.trim(), 'fails=0')
})

test('ROLES= deploys only that role; a concurrent deploy is refused by the lock; a dirty git tree is refused', async () => {
  const before = hosts.map(currentOf)
  nextVersion()
  const dbDeploy = await deploy('deploy', 'ROLES=db')
  expectOk(dbDeploy, 'db deploy')
  const dbHost = hosts.at(-1) ?? ''
  assert.notEqual(currentOf(dbHost), before.at(-1))
  if (VIA === 'murder') {
    // The swarm's tracker and seeder (the first host) worked for the run, but were no target.
    assert.match(dbDeploy.stderr, new RegExp(`^✔ 1 host\\(s\\) succeeded: ${dbHost}$`, 'm'))
    assert.match(dbDeploy.stderr, new RegExp(`^· 1 host\\(s\\) outside ROLES=/HOSTS= took part: ${hosts[0]}$`, 'm'))
  }
  hosts.slice(0, -1).forEach((host, index) => assert.equal(currentOf(host), before[index], `${host} untouched`))

  const busy = [hosts[3] ?? '', hosts[4] ?? '']
  for (const host of busy) readOnHost(host, `echo "alice@elsewhere (pid 1) since 2026-01-01T00:00:00Z" > ${DEPLOY_TO}/deploy.lock`)
  const locked = await deploy('deploy')
  // 75, EX_TEMPFAIL: busy, not broken; a CI job may retry later.
  assert.equal(locked.code, 75, locked.stderr)
  // One line for the hosts that failed the same way, however many.
  assert.match(locked.stderr, new RegExp(`^    ${busy.join(', ')} \\(2 hosts\\): shop is being deployed by alice@elsewhere \\(pid 1\\) since 2026-01-01T00:00:00Z \\(lock ${DEPLOY_TO}/deploy.lock\\); wait, or pass unlock=1 if that deploy died\\.$`, 'm'))
  // The hosts whose lock another deploy holds are the failed hosts; the others had no failure.
  assert.match(locked.stderr, /^✖ 2 host\(s\) failed:$/m)
  assert.match(locked.stderr, new RegExp(`^· ${hosts.length - 2} host\\(s\\) had no failure of their own: ${hosts.filter((host) => !busy.includes(host)).join(', ')}$`, 'm'))
  for (const host of hosts) {
    const expected = busy.includes(host) ? 0 : 1
    assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, expected, `only the foreign lock is left on ${host}`)
  }
  nextVersion()
  expectOk(await deploy('deploy', 'unlock=1'), 'deploy with unlock=1')
  // deploy:lock alone (cap's): the lock outlives the run, and the run says so and how to clear it.
  const alone = await deploy('deploy:lock')
  expectOk(alone, 'deploy:lock alone')
  assert.match(alone.stderr, new RegExp(`warning: the deploy lock stays on ${hosts.length} host\\(s\\) after this run, unless deploy:unlock runs in it; \`deploy farm deploy:unlock unlock=1\` clears it`))
  for (const host of hosts) assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 0, `${host}: locked`)
  expectOk(await deploy('deploy:unlock', 'unlock=1'), 'deploy:unlock unlock=1')
  for (const host of hosts) assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, `${host}: unlocked`)

  // A project of its own in git: the release is the deployfile's directory, run from a subdirectory of it.
  const gitApp = makeProject('deploy-git', 'deploy.ts')
  const git = (...args: string[]) => execFileSync('git', ['-C', gitApp, ...args], { stdio: 'pipe' })
  git('init', '-q', '-b', 'main')
  mkdirSync(join(gitApp, 'src'))
  writeFileSync(join(gitApp, 'src/VERSION'), 'git\n')
  git('add', '.')
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'first')
  writeFileSync(join(gitApp, 'src/VERSION'), 'dirty\n')
  const dirty = await runCli(['farm', 'deploy', `deploy_via=${VIA}`], { cwd: join(gitApp, 'src'), env: {} })
  assert.equal(dirty.code, 2)
  assert.match(dirty.stderr, /^error: Refusing to deploy: the working tree has 1 uncommitted change\(s\); commit them, or pass allow_dirty=1 to deploy them anyway\.$/m)
})

test('a deploy_to that cannot be created on one host fails at the lock, naming it and why; no host keeps a lock; max_fail=1 deploys the others', async () => {
  const blocked = hosts[2] ?? ''
  const where = '/srv/lock-test'
  for (const host of hosts) onHost(host, `rm -rf ${where}`)
  onHost(blocked, `touch ${where}`)
  try {
    const result = await deploy('deploy', `deploy_to=${where}/app`)
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, new RegExp(`${blocked}: cannot create the deploy lock ${where}/app/deploy.lock \\(mkdir: .*Not a directory\\); check that ${where}/app can be created and written\\.`))
    for (const host of hosts) assert.equal(onHost(host, `test -e ${where}/app/deploy.lock`).code, 1, `${host}: no lock left`)
    for (const host of hosts) assert.equal(onHost(host, `test -e ${where}/app/current`).code, 1, `${host}: nothing deployed`)

    for (const host of hosts.filter((name) => name !== blocked)) onHost(host, `mkdir -p ${where}/app/shared/config && echo "secret: 1" > ${where}/app/shared/config/app.yml`)
    // A lock held elsewhere beside a host failed for itself: exit 1, not "busy, retry" (75).
    const busy = hosts[5] ?? ''
    onHost(busy, `echo "alice@elsewhere (pid 1) since 2026-01-01T00:00:00Z" > ${where}/app/deploy.lock`)
    const both = await deploy('deploy', `deploy_to=${where}/app`, 'max_fail=1')
    assert.equal(both.code, 1, both.stderr)
    assert.match(both.stderr, new RegExp(`^    ${busy}: shop is being deployed by alice@elsewhere`, 'm'))
    onHost(busy, `rm -f ${where}/app/deploy.lock`)
    nextVersion()
    const within = await deploy('deploy', `deploy_to=${where}/app`, 'max_fail=1')
    expectOk(within, 'deploy with max_fail=1')
    assert.match(within.stderr, new RegExp(`carrying on without ${blocked}: 1 of ${hosts.length} hosts failed, within max_fail=1`))
    for (const host of hosts.filter((name) => name !== blocked)) {
      assert.equal(readOnHost(host, `cat ${where}/app/current/VERSION`).trim(), String(version), `${host} deployed`)
      assert.equal(onHost(host, `test -e ${where}/app/deploy.lock`).code, 1, `${host}: unlocked`)
    }
  } finally {
    for (const host of hosts) onHost(host, `rm -rf ${where}`)
  }
})

test('a linked file missing on one host fails deploy:check, naming it; no release is made and no lock is left', async () => {
  const bare = hosts[3] ?? ''
  const file = `${DEPLOY_TO}/shared/config/app.yml`
  const releasesBefore = hosts.map((host) => onHost(host, `ls ${DEPLOY_TO}/releases 2>/dev/null`).stdout)
  onHost(bare, `rm -f ${file}`)
  try {
    nextVersion()
    const result = await deploy('deploy')
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, new RegExp(`${bare}: linked file ${file} does not exist; create it there first\\.`))
    hosts.forEach((host, index) => {
      assert.equal(onHost(host, `ls ${DEPLOY_TO}/releases 2>/dev/null`).stdout, releasesBefore[index], `${host}: no release made`)
      assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, `${host}: no lock left`)
    })
  } finally {
    onHost(bare, `echo "secret: 1" > ${file}`)
  }

  // A `current` that is a directory, not a link, cannot be swapped: said at the check, not at the swap.
  const odd = hosts[4] ?? ''
  const link = readOnHost(odd, `readlink ${DEPLOY_TO}/current`).trim()
  onHost(odd, `mv ${DEPLOY_TO}/current ${DEPLOY_TO}/current.link && mkdir ${DEPLOY_TO}/current`)
  try {
    nextVersion()
    const result = await deploy('deploy')
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, new RegExp(`${odd}: ${DEPLOY_TO}/current is not a symlink; move it out of the way \\(a release's files belong in ${DEPLOY_TO}/releases\\)\\.`))
    hosts.forEach((host, index) => assert.equal(onHost(host, `ls ${DEPLOY_TO}/releases 2>/dev/null`).stdout, releasesBefore[index], `${host}: no release made`))
  } finally {
    onHost(odd, `rmdir ${DEPLOY_TO}/current && mv ${DEPLOY_TO}/current.link ${DEPLOY_TO}/current`)
  }
  assert.equal(readOnHost(odd, `readlink ${DEPLOY_TO}/current`).trim(), link)
})

test('a releases directory the SSH user cannot write to on one host is said before any download, naming deploy_to; no host gets the release', { skip: VIA !== 'murder' && 'DEPLOY_VIA is not murder' }, async () => {
  const locked = hosts[5] ?? ''
  nextVersion()
  expectOk(await deploy('deploy'), 'a deploy before')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const state = `ls -A ${DEPLOY_TO}/releases; readlink ${DEPLOY_TO}/current`
  const before = hosts.map((host) => readOnHost(host, state))
  onHost(locked, `chmod 555 ${DEPLOY_TO}/releases`)
  try {
    nextVersion()
    const result = await deploy('deploy')
    assert.equal(result.code, 1, result.stderr)
    const incoming = `${DEPLOY_TO}/releases/\\.\\d{14}\\.incoming`
    assert.match(result.stderr, new RegExp(`${locked}: the SSH user cannot write to ${incoming} \\(it or the nearest directory above it that exists is not writable\\); make that directory writable for the SSH user or choose a deploy_to it can write to\\.`))
    assert.doesNotMatch(result.stderr, /\$ unpack /, 'no host got as far as unpacking')
    hosts.forEach((host, index) => assert.equal(readOnHost(host, state), before[index], `${host} unchanged`))
  } finally {
    onHost(locked, `chmod 755 ${DEPLOY_TO}/releases`)
  }
})

test('deploy --dry-run prints the plan (waves, release path, commands per host) and changes nothing', async () => {
  const before = hosts.map((host) => readOnHost(host, `ls -A ${DEPLOY_TO}/releases; readlink ${DEPLOY_TO}/current`))
  nextVersion()
  const result = await deploy('deploy', '--dry-run', '--waves', '1,100%')
  expectOk(result, 'dry run')
  assert.match(result.stderr, new RegExp(`release ${DEPLOY_TO}/releases/\\d{14} on ${hosts.length} host\\(s\\) via ${VIA}`))
  assert.match(result.stderr, new RegExp(`wave 1/2: ${hosts[0]}\\n`))
  assert.match(result.stderr, new RegExp(`wave 2/2: ${hosts.slice(1).join(', ')}\\n`))
  const swap = `ln -sfn ${DEPLOY_TO}/releases/\\d{14} ${DEPLOY_TO}/releases/current && mv ${DEPLOY_TO}/releases/current ${DEPLOY_TO}/`
  // Only while the host's lock still names this run.
  for (const host of hosts) assert.match(result.stderr, new RegExp(`  ${host} \\$ if \\[ "\\$\\(cat ${DEPLOY_TO}/deploy.lock 2>/dev/null\\)" = '[^']+' \\]; then ${swap}; else echo `))
  hosts.forEach((host, index) => assert.equal(readOnHost(host, `ls -A ${DEPLOY_TO}/releases; readlink ${DEPLOY_TO}/current`), before[index], `${host} unchanged`))
})

test('deploy_via murder gives the swarm the release encrypted, not the tgz itself, with no key in sight; swarm_encryption=false gives it the tgz', { skip: VIA !== 'murder' && 'DEPLOY_VIA is not murder' }, async () => {
  for (const encryption of ['true', 'false']) {
    nextVersion()
    const tgz = join(project, 'release.tgz')
    execFileSync('tar', ['-czf', tgz, '-C', appDir, '.'])
    const releaseSha = createHash('sha256').update(readFileSync(tgz)).digest('hex')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    // -c 2: more peers than --concurrency, so every daemon is started first and then followed.
    const result = await runCli(['farm', 'deploy', `release_source=${tgz}`, 'deploy_via=murder', `swarm_encryption=${encryption}`, '-v', '-c', '2'], { cwd: project })
    expectOk(result, `deploy with swarm_encryption=${encryption}`)
    // The controller names the payload it made the torrent of: what every host's peer fetches.
    const payloadSha = /\.tgz: \d+ bytes in \d+ pieces, sha256 ([0-9a-f]{64})/.exec(result.stderr)?.[1]
    assert.ok(payloadSha, result.stderr)
    if (encryption === 'true') {
      assert.notEqual(payloadSha, releaseSha, 'the swarm carries ciphertext')
      // Every 64-hex word the run printed is a SHA-256 it named as such (the key is 64 hex digits too).
      const hexWords = [...new Set(result.stderr.match(/\b[0-9a-f]{64}\b/g) ?? [])]
      for (const word of hexWords) assert.match(result.stderr, new RegExp(`sha256 ${word}|${word}  `), `${word} is no sha256 the run named`)
      // Each host's held agent command unpacks it (every host: the seeder's `seed --hold` too).
      for (const host of hosts) assert.match(result.stderr, new RegExp(`  ${host} \\$ unpack .* \\(asked of the held agent command, the key with the request on its stdin\\)\\n`))
    } else {
      assert.equal(payloadSha, releaseSha, 'the swarm carries the release as it is')
      for (const host of hosts) assert.match(result.stderr, new RegExp(`  ${host} \\$ unpack .* \\(asked of the held agent command\\)\\n`))
    }
    for (const host of hosts) assert.equal(versionOf(host), String(version), `${host} runs the release of swarm_encryption=${encryption}`)
  }
})

test('from a subdirectory, or with -f from another directory, the release is the project\'s and release_source is relative to it', async () => {
  const sub = join(project, 'deep/er')
  mkdirSync(sub, { recursive: true })
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const fromSub = await runCli(['farm', 'deploy', 'release_source=app', `deploy_via=${VIA}`], { cwd: sub })
  expectOk(fromSub, 'deploy from a subdirectory')
  for (const host of hosts) assert.equal(readOnHost(host, `cat ${DEPLOY_TO}/current/index.html`), '<h1>shop</h1>\n', `${host} got the project's app`)
  nextVersion()
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const withFile = await runCli(['-f', join(project, 'deployfile.ts'), 'farm', 'deploy', 'release_source=app', `deploy_via=${VIA}`], { cwd: tmpdir() })
  expectOk(withFile, 'deploy -f from elsewhere')
  for (const host of hosts) assert.equal(versionOf(host), String(version))
})

test('deploy:unlock before deploy on one command line leaves no lock; a lock another deploy took over is left to it, and that host is not switched', async () => {
  nextVersion()
  expectOk(await deploy('deploy:unlock', 'deploy'), 'deploy:unlock deploy')
  for (const host of hosts) assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, `${host}: unlocked`)
  const taken = hosts[1] ?? ''
  const before = hosts.map(currentOf)
  try {
    nextVersion()
    const result = await deploy('deploy', `steal_lock_on=${taken}`)
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, new RegExp(`${taken}: the deploy lock ${DEPLOY_TO}/deploy\\.lock is now held by bob@elsewhere \\(pid 2\\) since 2026-01-01T00:00:00Z \\(another deploy's unlock=1\\); this run switches current there no more`))
    assert.match(result.stderr, new RegExp(`${taken}: the deploy lock ${DEPLOY_TO}/deploy\\.lock is now held by bob@elsewhere \\(pid 2\\) since 2026-01-01T00:00:00Z; left in place`))
    hosts.forEach((host, index) => assert.equal(currentOf(host), before[index], `${host}: current as before (switched back, or never switched)`))
    for (const host of hosts) assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, host === taken ? 0 : 1, `${host}: only the other deploy's lock stays`)
    // The break-glass unlock clears it, naming whose it was.
    const cleared = await deploy('deploy:unlock', 'unlock=1')
    expectOk(cleared, 'deploy:unlock unlock=1')
    assert.match(cleared.stderr, new RegExp(`warning: cleared the deploy lock ${DEPLOY_TO}/deploy\\.lock held by bob@elsewhere \\(pid 2\\) since 2026-01-01T00:00:00Z on ${taken} \\(unlock=1\\)`))
    for (const host of hosts) assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, `${host}: no lock left`)
  } finally {
    onHost(taken, `rm -f ${DEPLOY_TO}/deploy.lock`)
  }
})

test('when max_fail lets every host fail, the run fails (exit 1) and removes no release it did not make', async () => {
  const before = hosts.map(releasesOf)
  const older = before[0]?.[0] ?? ''
  for (const [index, host] of hosts.entries()) assert.ok(before[index]?.includes(older), `${host} holds ${older}`)
  // Every host refuses to make a release that exists; the run then has no host left.
  const result = await deploy('deploy', `release_timestamp=${older}`, 'max_fail=100%')
  assert.equal(result.code, 1, result.stderr)
  assert.match(result.stderr, new RegExp(`${hosts[0]} ✖ release ${DEPLOY_TO}/releases/${older} already exists`))
  assert.match(result.stderr, /every target host has failed \(within max_fail\); nothing is left to deploy to\./)
  hosts.forEach((host, index) => {
    assert.deepEqual(releasesOf(host), before[index], `${host} keeps its releases`)
    assert.equal(onHost(host, `test -e ${DEPLOY_TO}/deploy.lock`).code, 1, `${host}: no lock left`)
  })
})

test('a host failing deploy:verify within max_fail goes back alone, without the new release; the others keep it', async () => {
  const failing = hosts[2] ?? ''
  const old = currentOf(failing)
  nextVersion()
  for (const host of hosts) onHost(host, `rm -f ${DEPLOY_TO}/switched-back`)
  const result = await deploy('deploy', '--waves', '1,100%', `fail_verify_on=${failing}`, 'max_fail=1')
  expectOk(result, 'deploy with max_fail=1')
  assert.match(result.stderr, new RegExp(`${failing}: failed within max_fail; switching back to the previous release`))
  // deploy:switched_back ran there alone (to restart what its check left on the new release).
  assert.deepEqual(hosts.filter((host) => onHost(host, `test -e ${DEPLOY_TO}/switched-back`).code === 0), [failing])
  const fresh = currentOf(hosts[0] ?? '')
  assert.notEqual(fresh, old)
  for (const host of hosts.filter((name) => name !== failing)) assert.equal(versionOf(host), String(version), `${host} runs the new release`)
  assert.equal(currentOf(failing), old)
  assert.ok(!releasesOf(failing).includes(fresh.split('/').at(-1) ?? ''), `${failing} does not keep the release it went back from`)

  // A rollback to the release it stayed on moves the others and leaves it as it is.
  const stayed = old.split('/').at(-1) ?? ''
  const back = await deploy('deploy:rollback', `rollback_release=${stayed}`)
  expectOk(back, 'rollback to the release one host stayed on')
  assert.match(back.stderr, new RegExp(`${failing}: already on release ${stayed}; left as it is`))
  for (const host of hosts) assert.equal(currentOf(host), old, `${host} on ${stayed}`)
  assert.doesNotMatch(readOnHost(failing, `tail -n 1 ${DEPLOY_TO}/revisions.log`), /rolled back/, `no rollback logged on ${failing}`)
})

test('a swap failing on one host puts every switched host back; within max_fail only that host stays back', async () => {
  nextVersion()
  expectOk(await deploy('deploy'), 'base deploy')
  const old = hosts.map(currentOf)
  const stuck = hosts[4] ?? ''
  // A directory where the swap stages its link: `mv` cannot rename it over `current`.
  onHost(stuck, `mkdir ${DEPLOY_TO}/releases/current`)
  try {
    nextVersion()
    const failed = await deploy('deploy')
    assert.equal(failed.code, 1, failed.stderr)
    assert.match(failed.stderr, new RegExp(`switching current failed \\(failed on 1 of ${hosts.length} hosts: ${stuck}\\); switched hosts were rolled back\\.`))
    const made = /release \S+\/releases\/(\d{14}) on/.exec(failed.stderr)?.[1] ?? 'none'
    hosts.forEach((host, index) => {
      assert.equal(currentOf(host), old[index], `${host} back on the old release`)
      assert.ok(!releasesOf(host).includes(made), `${host}: the release ${made} is gone`)
    })

    nextVersion()
    const within = await deploy('deploy', 'max_fail=1')
    expectOk(within, 'deploy with max_fail=1')
    assert.match(within.stderr, new RegExp(`${stuck}: swap failed within max_fail; current left as it was`))
    const fresh = currentOf(hosts[0] ?? '').split('/').at(-1) ?? ''
    for (const host of hosts.filter((name) => name !== stuck)) assert.equal(versionOf(host), String(version), `${host} runs the new release`)
    assert.equal(currentOf(stuck), old[4])
    assert.ok(!releasesOf(stuck).includes(fresh), `${stuck} does not keep the release it never switched to`)
  } finally {
    onHost(stuck, `rm -rf ${DEPLOY_TO}/releases/current`)
  }
})
