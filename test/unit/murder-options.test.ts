import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkSafeToEmpty, checkPath, expandHome, holdsHome, whyUnsafeToEmpty, type DeployLayout, isFlagSet, readAbsolutePath, readMurderOptions, readSwarmSettings, readTag, withEnvironmentArguments, type Fetch } from '../../lib/torrent/murder-options.ts'
import { UsageError } from '../../lib/errors.ts'
import { makeGitProject, runDryCli } from '../helpers/dry-run-project.ts'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'

function fetchFrom(values: Record<string, unknown>): Fetch {
  return <T>(name: string, fallback?: T): T => (name in values ? (values[name] as T) : (fallback as T))
}

test('readTag accepts safe tags and rejects the rest with a one-line error', () => {
  assert.equal(readTag(fetchFrom({ tag: 'Deploy20100101' })), 'Deploy20100101')
  assert.equal(readTag(fetchFrom({ default_tag: 'v1.2_3-rc' })), 'v1.2_3-rc')
  const bad: [string, string][] = [
    ['', 'murder needs a tag: pass tag=NAME (for example tag=Deploy20100101) or set default_tag.'],
    ['a/b', 'Invalid tag "a/b": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).'],
    ['..', 'Invalid tag "..": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).'],
    ['x..y', 'Invalid tag "x..y": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).'],
    ['a b', 'Invalid tag "a b": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).'],
    ['$(id)', 'Invalid tag "$(id)": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).'],
    ['a\nb', 'Invalid tag "a\\nb": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).'],
    ['-rf', 'Invalid tag "-rf": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).'],
  ]
  for (const [tag, message] of bad) {
    assert.throws(() => readTag(fetchFrom({ tag })), (error: unknown) => error instanceof UsageError && error.message === message, tag)
  }
})

test('paths must be absolute (or ~/ where each host expands it), without .. or newlines', () => {
  assert.equal(checkPath('p', '/srv/out/'), '/srv/out')
  assert.equal(checkPath('p', '~/files', { allowsHome: true }), '~/files')
  assert.equal(readAbsolutePath(fetchFrom({ files_path: '~/files' }), 'files_path', 'default_seeder_files_path', 'the files'), '~/files')
  // Quoted in every command, a ~ there would name a directory called "~".
  assert.throws(() => checkPath('deploy_to', '~/apps/shop'), { message: 'deploy_to must be an absolute path: commands quote it, so "~" is not expanded; got "~/apps/shop", write /home/USER/… instead.' })
  assert.equal(checkPath('p', '/'), '/')
  assert.equal(checkPath('p', '//srv//out//'), '/srv/out', 'repeated slashes collapse')
  assert.equal(checkPath('p', '//'), '/')
  assert.throws(() => checkPath('p', 'relative/x'), { message: 'p must be an absolute path, got "relative/x".' })
  assert.throws(() => checkPath('p', '/srv/../etc'), { message: 'p must not contain "..": "/srv/../etc".' })
  assert.throws(() => checkPath('p', '/srv/a\nb'), { message: 'p must not contain newlines: "/srv/a\\nb".' })
  assert.throws(() => readAbsolutePath(fetchFrom({}), 'files_path', 'default_seeder_files_path', 'the files'), {
    message: 'murder needs files_path: pass files_path=PATH (the files) or set default_seeder_files_path.',
  })
})

test('flags accept 1, true, yes and on, and refuse what is neither on nor off', () => {
  for (const value of ['1', 'true', 'YES', 'on', true, 1]) assert.equal(isFlagSet(fetchFrom({ f: value }), 'f'), true, String(value))
  for (const value of ['0', '', 'no', 'off', false, undefined]) assert.equal(isFlagSet(fetchFrom({ f: value }), 'f'), false, String(value))
  // Anything else is a mistake to say, not an "off" to act on.
  for (const value of ['2', 'foo', 'y']) assert.throws(() => isFlagSet(fetchFrom({ f: value }), 'f'), { name: 'UsageError', message: new RegExp(`^f must be true or false, got "${value}"`) })
})

test('readMurderOptions derives TEMP/TAG.tgz and its torrent', () => {
  assert.deepEqual(readMurderOptions(fetchFrom({ tag: 'T1', default_temp_path: '/tmp' })), {
    tag: 'T1',
    tempPath: '/tmp',
    payloadPath: '/tmp/T1.tgz',
    torrentPath: '/tmp/T1.tgz.torrent',
    isPathFile: false,
  })
  assert.equal(readMurderOptions(fetchFrom({ tag: 'T1', temp_path: '/var/tmp', path_is_file: '1' })).payloadPath, '/var/tmp/T1.tgz')
})

test('the swarm numbers: defaults, overrides, and NaN refused before any host', () => {
  assert.deepEqual(readSwarmSettings(fetchFrom({})), { trackerPort: 8998, seedSeconds: 30, timeoutS: 0, stallTimeoutS: 60 })
  assert.deepEqual(readSwarmSettings(fetchFrom({ tracker_port: '7000', peer_seed_seconds: '0', peer_timeout: 600, swarm_stall_timeout: '0' })), { trackerPort: 7000, seedSeconds: 0, timeoutS: 600, stallTimeoutS: 0 })
  for (const [name, value] of [['tracker_port', 'abc'], ['tracker_port', '0'], ['peer_seed_seconds', 'x'], ['peer_timeout', '-5'], ['swarm_stall_timeout', '1.5']] as const) {
    assert.throws(() => readSwarmSettings(fetchFrom({ [name]: value })), (error: Error) => error instanceof UsageError && error.message.startsWith(`${name} must be a whole number`), `${name}=${value}`)
  }
})

const shop = { deployTo: '/var/www/shop', releases: 'releases', shared: 'shared', current: 'current' }

test('unsafe_please_delete never empties /, a top-level or home directory, what holds deploy_to, or its layout', () => {
  const allowed = ['/srv/app/Deploy1', '/srv/app', '~/files', '/var/www/shop/current-files', '/var/www/shop/shared/assets', '/home/deploy/files']
  for (const target of allowed) assert.doesNotThrow(() => checkSafeToEmpty('unsafe_please_delete', target, shop), target)
  const refused: [string, DeployLayout | undefined, string][] = [
    ['/', undefined, 'it is / or a top-level directory'],
    ['/etc', undefined, 'it is / or a top-level directory'],
    ['~', undefined, 'it is a home directory'],
    ['/home/deploy', undefined, 'it is a home directory'],
    ['/home/deploy/', undefined, 'it is a home directory'],
    ['/var/www', shop, 'it holds deploy_to (/var/www/shop)'],
    ['/var/www/shop', { ...shop, deployTo: '/var/www/shop/' }, 'it holds deploy_to (/var/www/shop)'],
    ['/var/www/shop/shared', shop, "it is part of deploy_to's shared (/var/www/shop/shared)"],
    ['/var/www/shop/releases', shop, "it is part of deploy_to's releases (/var/www/shop/releases)"],
    ['/var/www/shop/releases/20261203085848', shop, "it is part of deploy_to's releases (/var/www/shop/releases)"],
    ['/var/www/shop/current/public', shop, "it is part of deploy_to's current (/var/www/shop/current)"],
    ['/var/www/shop/builds/x', { ...shop, releases: 'builds' }, "it is part of deploy_to's builds (/var/www/shop/builds)"],
    ['~/apps/shop/current', { ...shop, deployTo: '~/apps/shop' }, "it is part of deploy_to's current (~/apps/shop/current)"],
    ['~/apps', { ...shop, deployTo: '~/apps/shop' }, 'it holds deploy_to (~/apps/shop)'],
  ]
  for (const [target, layout, why] of refused) {
    assert.throws(
      () => checkSafeToEmpty('unsafe_please_delete', target, layout),
      { name: 'UsageError', message: `refusing unsafe_please_delete on ${target}: ${why}; point destination_path (or tag) at the files' own directory.` },
      target
    )
  }
  // On a host, with its home: a `~/` deploy_to against an absolute target, and the other way round.
  assert.equal(whyUnsafeToEmpty('/home/deploy/shop/releases', { ...shop, deployTo: expandHome('~/shop', '/home/deploy') }), "it is part of deploy_to's releases (/home/deploy/shop/releases)")
  assert.equal(expandHome('~/shop', '/home/deploy/'), '/home/deploy/shop')
  assert.equal(expandHome('~/shop', ''), '~/shop')
  assert.equal(expandHome('/srv/shop', '/home/deploy'), '/srv/shop')
  // The agent's own directory, whatever deploy_to is: emptied, its daemons would run on unstoppable.
  const agent = '/var/www/shop/shared/murder'
  const why = "it is, holds or lies in remote_murder_path (/var/www/shop/shared/murder), the agent and its daemons' state"
  for (const target of ['/var/www/shop/shared/murder', '/var/www/shop/shared/murder/run', '/var/www/shop/shared/murder/']) {
    assert.equal(whyUnsafeToEmpty(target, undefined, agent), why, target)
  }
  assert.equal(whyUnsafeToEmpty('/var/www/shop/shared/murderous', undefined, agent), undefined)
  // The system's own directories and a home's keys and settings, whatever the layout.
  for (const [target, why] of [
    ['/usr/bin', "it is one of the system's own directories under /usr"],
    ['/etc/ssh/', "it is one of the system's own directories under /etc"],
    ['/usr/local/bin', "it is one of the system's own directories under /usr"],
    ['/var/lib', "it is one of /var's own directories (/var/www/APP is fine)"],
    ['~/.ssh', 'it is a dot-directory of a home (keys, settings)'],
    ['/home/deploy/.ssh', 'it is a dot-directory of a home (keys, settings)'],
    ['/root/.config', 'it is a dot-directory of a home (keys, settings)'],
  ]) {
    assert.equal(whyUnsafeToEmpty(target ?? '', undefined), why, target)
  }
  for (const target of ['/usr/share/nginx/html', '/var/www/shop', '/home/deploy/site', '~/site', '/srv/static', '/opt/app']) assert.equal(whyUnsafeToEmpty(target, undefined), undefined, target)
  assert.equal(whyUnsafeToEmpty('/opt/murder', undefined, '/opt/murder/agent'), "it is, holds or lies in remote_murder_path (/opt/murder/agent), the agent and its daemons' state")
})

test("distribute_files never clears a remote_murder_path it would be unsafe to empty; the default is fine", () => {
  assert.doesNotThrow(() => checkSafeToEmpty('remote_murder_path', '/var/www/shop/shared/murder', shop))
  assert.doesNotThrow(() => checkSafeToEmpty('remote_murder_path', '/opt/murder', undefined))
  for (const [path, why] of [
    ['/srv', 'it is / or a top-level directory'],
    ['/home/deploy', 'it is a home directory'],
    ['/var/www', 'it holds deploy_to (/var/www/shop)'],
    ['/var/www/shop/shared', "it is part of deploy_to's shared (/var/www/shop/shared)"],
  ] as const) {
    assert.throws(
      () => checkSafeToEmpty('remote_murder_path', path, shop),
      { name: 'UsageError', message: `refusing to clear remote_murder_path ${path}: ${why}; give the agent a directory of its own (default DEPLOY_TO/shared/murder).` },
      path
    )
  }
})

test("a target is refused on a host where it is or holds the SSH user's home, by that host's $HOME", () => {
  for (const [target, home] of [['/home/deploy', '/home/deploy'], ['/home/deploy/', '/home/deploy'], ['/var/lib', '/var/lib/postgresql'], ['/home', '/home/deploy/']] as const) {
    assert.equal(holdsHome(target, home), true, `${target} with HOME=${home}`)
  }
  for (const [target, home] of [['/home/deploy/files', '/home/deploy'], ['/home/deployer', '/home/deploy'], ['/srv/x', ''], ['/srv/x', 'relative']] as const) {
    assert.equal(holdsHome(target, home), false, `${target} with HOME=${home}`)
  }
})

test('murder:* in a project with no application, deploy_to or remote_murder_path says what to set and why', async () => {
  const project = makeGitProject('murder-only', { 'deployfile.ts': "import { set } from 'murder'\n", 'roles/x.yaml': 'servers:\n  - host: a.invalid\n' })
  try {
    const bare = await runDryCli(['x', 'murder:start_tracker', '--dry-run'], project.dir, tmpdir())
    assert.equal(bare.code, 2, bare.stderr)
    assert.match(bare.stderr, /^error: application must be set .*; remote_murder_path defaults to DEPLOY_TO\/shared\/murder, and deploy_to to \/var\/www\/APPLICATION \(or set remote_murder_path\)\.$/m)
    const given = await runDryCli(['x', 'murder:start_tracker', '--dry-run', 'remote_murder_path=/opt/murder'], project.dir, tmpdir())
    assert.equal(given.code, 0, given.stderr)
    assert.match(given.stderr, /\/opt\/murder\/murder-agent\.cjs/)
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})

test("murder's arguments come from the environment too, as Murder read them; variables win, and nothing else is taken from there", () => {
  const fetch = withEnvironmentArguments(fetchFrom({ destination_path: '/srv/given' }), { tag: 'FromEnv', destination_path: '/srv/env', unsafe_please_delete: '1', deploy_to: '/srv/env-deploy' })
  assert.equal(readTag(fetch), 'FromEnv')
  assert.equal(fetch('destination_path'), '/srv/given')
  assert.equal(isFlagSet(fetch, 'unsafe_please_delete'), true)
  assert.equal(fetch('deploy_to', '/var/www/shop'), '/var/www/shop')
  assert.equal(readTag(withEnvironmentArguments(fetchFrom({ default_tag: 'Dflt' }), {})), 'Dflt')
})
