import { test, before, beforeEach, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { errorLine, makeProject, REPO_ROOT, runCli, type CliResult } from '../helpers/cli.ts'
import { ensureFarm, onHost, readOnHost } from '../helpers/farm.ts'
import { treeDigest } from '../helpers/tree.ts'
import { quote } from '../../lib/ssh/quote.ts'

const MURDER_PATH = '/srv/www/murder-e2e/shared/murder'
let hosts: string[] = []
let project = ''
let seeder = ''

const deploy = (...args: string[]): Promise<CliResult> => runCli(['farm', ...args], { cwd: project })

function expectOk(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stderr}`)
}

const setRate = (rate: string) => execFileSync('bash', [join(REPO_ROOT, 'test/farm/farm.sh'), 'rate', 'all', rate], { stdio: 'pipe' })

function agentProcesses(host: string, pattern = 'murder-agent'): string {
  return onHost(host, `pgrep -af ${pattern} | grep -v pgrep || true`).stdout.trim()
}

before(async () => {
  hosts = ensureFarm(8)
  seeder = hosts[0] ?? ''
  project = makeProject('murder', 'murder.ts')
  for (const host of hosts) onHost(host, `pkill -f '[m]urder-agent'; rm -rf /srv/out /srv/wide /srv/again '/srv/odd dir' /tmp/pwned /srv/www /tmp/*.tgz /tmp/*.torrent /srv/files`)
  rmSync('/tmp/Again.tgz.torrent', { force: true })
  // The payload: random files, a nested directory, and .git* entries that must be left out.
  readOnHost(
    seeder,
    'mkdir -p /srv/files/sub/deeper /srv/files/.git && head -c 16000000 /dev/urandom > /srv/files/big.bin && ' +
      'echo hello > /srv/files/sub/hello.txt && head -c 1000 /dev/urandom > /srv/files/sub/deeper/small.bin && ' +
      'echo secret > /srv/files/.git/config && echo "*.log" > /srv/files/.gitignore && echo "with space" > "/srv/files/a b.txt"'
  )
  expectOk(await deploy('murder:distribute_files'), 'distribute_files')
})

// Each test starts the tracker it needs: one left by a failed test must not fail the next.
beforeEach(async () => {
  await deploy('murder:stop_tracker')
})

after(async () => {
  await deploy('murder:stop_all_peering')
  await deploy('murder:stop_all_seeding')
  await deploy('murder:stop_tracker')
})

test("Murder's manual flow puts byte-identical files on every peer, .git* left out", async () => {
  rmSync('/tmp/Flow1.tgz.torrent', { force: true })
  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Flow1', 'files_path=/srv/files'), 'create_torrent')
  assert.ok(existsSync('/tmp/Flow1.tgz.torrent'), 'the torrent was downloaded to the controller')
  expectOk(await deploy('murder:start_seeding', 'tag=Flow1'), 'start_seeding')
  // A second start, as `systemctl start` of a running service, leaves each daemon be.
  const trackerAgain = await deploy('murder:start_tracker')
  expectOk(trackerAgain, 'start_tracker again')
  assert.match(trackerAgain.stderr, /h01: a tracker already runs there \(pid \d+\); left as is/)
  const seedingAgain = await deploy('murder:start_seeding', 'tag=Flow1')
  expectOk(seedingAgain, 'start_seeding again')
  assert.match(seedingAgain.stderr, /h01: a seeder of Flow1 already runs there \(pid \d+\); left as is/)
  const peered = await deploy('murder:peer', 'tag=Flow1', 'destination_path=/srv/out', 'peer_seed_seconds=8')
  expectOk(peered, 'peer')
  // Peers seed on for 8 s after their own `done`, so right after murder:peer returns some still run.
  const stillSeeding = hosts.slice(1).filter((host) => agentProcesses(host, 'murder-agent.*peer.*Flow1') !== '')
  assert.ok(stillSeeding.length > 0, 'peers keep seeding after murder:peer returns')
  assert.match(peered.stderr, /murder:peer 7\/7 peers done/)
  // The payload may hold secrets: the SSH user's alone, on the seeder and on the peers.
  for (const host of [seeder, hosts[1] ?? '']) assert.equal(readOnHost(host, 'stat -c %a /tmp/Flow1.tgz').trim(), '600', host)
  // Peering again while they seed on joins them: their totals are not passed off as this run's.
  const rerun = await deploy('murder:peer', 'tag=Flow1', 'destination_path=/srv/out', 'unsafe_please_delete=1', 'peer_seed_seconds=8')
  expectOk(rerun, 'peer again while the last run seeds on')
  const joined = stillSeeding.filter((host) => new RegExp(`^\\s+${host}\\s+\\S+\\s+joined the peer an earlier run left running; its totals: from seeder`, 'm').test(rerun.stderr))
  assert.ok(joined.length > 0, `some host joined its seeding peer:\n${rerun.stderr}`)

  const expected = treeDigest(seeder, '/srv/files').split('\n').filter((line) => !line.includes('./.git')).join('\n')
  assert.match(expected, /\.\/a b\.txt/)
  for (const host of hosts) assert.equal(treeDigest(host, '/srv/out/Flow1'), expected, `${host} holds the same files`)

  // ... and then leave by themselves (8 s, plus up to 4 s to close their connections).
  const deadline = Date.now() + 20_000
  let seeding = stillSeeding
  while (seeding.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    seeding = seeding.filter((host) => agentProcesses(host, 'murder-agent.*peer.*Flow1') !== '')
  }
  assert.deepEqual(seeding, [], 'every peer exited by itself after seeding on')

  // The seeder handed out well under half of what the peers received: they shared among themselves.
  const stats = JSON.parse(readOnHost(seeder, `cat ${MURDER_PATH}/run/seed.Flow1.stats.json`)) as { uploadedBytes: number }
  const payloadBytes = Number(readOnHost(seeder, 'stat -c %s /tmp/Flow1.tgz'))
  const receivedByPeers = payloadBytes * (hosts.length - 1)
  assert.ok(stats.uploadedBytes < receivedByPeers / 2, `seeder sent ${stats.uploadedBytes} of ${receivedByPeers}`)

  expectOk(await deploy('murder:stop_seeding', 'tag=Flow1'), 'stop_seeding')
  const stopped = await deploy('murder:stop_tracker')
  expectOk(stopped, 'stop_tracker')
  for (const host of hosts) assert.equal(agentProcesses(host), '', `no agent left on ${host}`)
  const again = await deploy('murder:stop_tracker')
  expectOk(again, 'stop_tracker when stopped')
  assert.match(again.stderr, /no tracker was running/)
})

test('with more peers than --concurrency, every peer daemon runs before the first one finishes', async () => {
  rmSync('/tmp/Wide.tgz.torrent', { force: true })
  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Wide', 'files_path=/srv/files'), 'create_torrent')
  expectOk(await deploy('murder:start_seeding', 'tag=Wide'), 'start_seeding')
  // 7 downloading peers, 2 hosts at a time: one swarm, not four rounds of two. At 10 Mbit/s a copy
  // takes over 12 s, far longer than starting every daemon two at a time even on a loaded machine.
  setRate('10mbit')
  try {
    expectOk(await deploy('murder:peer', 'tag=Wide', 'destination_path=/srv/wide', 'peer_seed_seconds=30', '-c', '2'), 'peer -c 2')
  } finally {
    setRate('1gbit')
  }
  const expected = treeDigest(seeder, '/srv/files').split('\n').filter((line) => !line.includes('./.git')).join('\n')
  const starts: number[] = []
  const finishes: number[] = []
  for (const host of hosts.slice(1)) {
    assert.equal(treeDigest(host, '/srv/wide/Wide'), expected, `${host} holds the same files`)
    const log = readOnHost(host, `cat ${MURDER_PATH}/run/peer.Wide.log`)
    const at = (pattern: RegExp) => Date.parse(log.split('\n').find((line) => pattern.test(line))?.split(' ')[0] ?? '')
    starts.push(at(/: starting /))
    finishes.push(at(/: done in /))
  }
  assert.ok(starts.every(Number.isFinite) && finishes.every(Number.isFinite), 'every peer log has its start and its end')
  assert.ok(Math.max(...starts) < Math.min(...finishes), `last daemon started ${Math.max(...starts) - Math.min(...finishes)} ms after the first finished`)
  // Again while they seed on: each daemon launched first is found running, and said so.
  const rerun = await deploy('murder:peer', 'tag=Wide', 'destination_path=/srv/wide', 'unsafe_please_delete=1', 'peer_seed_seconds=30', '-c', '2')
  expectOk(rerun, 'peer -c 2 again while the last run seeds on')
  assert.match(rerun.stderr, /murder:peer 7\/7 peers done \(7 joined an earlier run's peer\)/)
  for (const host of hosts.slice(1)) assert.match(rerun.stderr, new RegExp(`^\\s+${host}\\s+\\S+\\s+joined the peer an earlier run left running`, 'm'))
  expectOk(await deploy('murder:stop_all_peering'), 'stop_all_peering')
  expectOk(await deploy('murder:stop_seeding', 'tag=Wide'), 'stop_seeding')
  expectOk(await deploy('murder:stop_tracker'), 'stop_tracker')
})

test('no_tag_directory, unsafe_please_delete and path_is_file do what Murder says', async () => {
  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Flat', 'files_path=/srv/files'), 'create_torrent')
  expectOk(await deploy('murder:start_seeding', 'tag=Flat'), 'start_seeding')
  for (const host of hosts) onHost(host, 'mkdir -p /srv/flat && echo old > /srv/flat/stale.txt')

  // A non-empty destination without unsafe_please_delete fails and changes nothing anywhere.
  const refused = await deploy('murder:peer', 'tag=Flat', 'destination_path=/srv/flat', 'no_tag_directory=1')
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, new RegExp(`${hosts[0]} ✖ /srv/flat is not empty; pass unsafe_please_delete=1 to replace its contents\\.`))
  for (const host of hosts) assert.equal(readOnHost(host, 'ls /srv/flat').trim(), 'stale.txt')

  expectOk(await deploy('murder:peer', 'tag=Flat', 'destination_path=/srv/flat', 'no_tag_directory=1', 'unsafe_please_delete=1', 'peer_seed_seconds=0'), 'peer flat')
  const expected = treeDigest(seeder, '/srv/files').split('\n').filter((line) => !line.includes('./.git')).join('\n')
  for (const host of hosts) assert.equal(treeDigest(host, '/srv/flat'), expected, `${host}: stale file gone, files at the top`)
  expectOk(await deploy('murder:stop_seeding', 'tag=Flat'), 'stop_seeding')

  expectOk(await deploy('murder:create_torrent', 'tag=OneFile', 'files_path=/srv/files/big.bin', 'path_is_file=1'), 'create_torrent file')
  expectOk(await deploy('murder:start_seeding', 'tag=OneFile'), 'start_seeding file')
  expectOk(await deploy('murder:peer', 'tag=OneFile', 'destination_path=/srv/one/big.bin', 'path_is_file=1', 'peer_seed_seconds=0'), 'peer file')
  const digest = readOnHost(seeder, 'sha256sum < /srv/files/big.bin')
  for (const host of hosts) assert.equal(readOnHost(host, 'sha256sum < /srv/one/big.bin'), digest)
  expectOk(await deploy('murder:stop_all_seeding'), 'stop_all_seeding')
  expectOk(await deploy('murder:clean_temp_files', 'tag=OneFile'), 'clean_temp_files')
  for (const host of hosts) assert.equal(onHost(host, 'test -e /tmp/OneFile.tgz').code, 1)
  expectOk(await deploy('murder:stop_tracker'), 'stop_tracker')
})

test('with max_fail=1 a host whose destination is not empty is reported and left untouched; the others get the files', async () => {
  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Partial', 'files_path=/srv/files'), 'create_torrent')
  expectOk(await deploy('murder:start_seeding', 'tag=Partial'), 'start_seeding')
  const occupied = hosts[3] ?? ''
  for (const host of hosts) onHost(host, 'rm -rf /srv/partial')
  onHost(occupied, 'mkdir -p /srv/partial/Partial && echo old > /srv/partial/Partial/stale.txt')
  // -c 2: fewer slots than peers, so every daemon is started first and then followed.
  const run = await deploy('murder:peer', 'tag=Partial', 'destination_path=/srv/partial', 'peer_seed_seconds=0', 'max_fail=1', '-c', '2')
  expectOk(run, 'murder:peer within max_fail')
  assert.match(run.stderr, new RegExp(`carrying on without ${occupied}: 1 of 8 hosts failed, within max_fail=1`))
  assert.equal(readOnHost(occupied, 'ls -A /srv/partial/Partial').trim(), 'stale.txt', `nothing was extracted on ${occupied}`)
  assert.equal(onHost(occupied, `test -e ${MURDER_PATH}/run/peer.Partial.events.jsonl`).code, 1, `no peer daemon ran on ${occupied}`)
  const expected = treeDigest(seeder, '/srv/files').split('\n').filter((line) => !line.includes('./.git')).join('\n')
  for (const host of hosts.filter((name) => name !== occupied)) {
    assert.equal(treeDigest(host, '/srv/partial/Partial'), expected, `${host} holds the same files`)
  }
  expectOk(await deploy('murder:stop_seeding', 'tag=Partial'), 'stop_seeding')
  expectOk(await deploy('murder:stop_tracker'), 'stop_tracker')
})

test('a run directory full of ended transfers: distribute_files keeps it, and the next seeder and peers prune it to the newest 10', async () => {
  const run = `${MURDER_PATH}/run`
  const peerHost = hosts[1] ?? ''
  // 400 ended transfers (1200 files), the oldest first: once over distribute_files' 1000-file guard.
  // Earlier tests' ended transfers go first, so that the newest of these are among the 10 kept.
  const leave = (host: string, kind: string) =>
    readOnHost(host, `mkdir -p ${run} && cd ${run} && for f in ${kind}.*.log; do [ ! -e "$f" ] || [ -e "\${f%.log}.pid" ] || rm -f "\${f%.log}".*; done && for i in $(seq 1 400); do touch -d "@$((1600000000 + i))" ${kind}.Old$i.log ${kind}.Old$i.events.jsonl ${kind}.Old$i.stats.json; done`)
  leave(seeder, 'seed')
  leave(peerHost, 'peer')
  expectOk(await deploy('murder:distribute_files'), 'distribute_files over a full run directory')
  assert.equal(readOnHost(peerHost, `ls ${run} | grep -c '^peer[.]Old'`).trim(), '1200', 'distribute_files keeps run/')

  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Prune', 'files_path=/srv/files/sub'), 'create_torrent')
  expectOk(await deploy('murder:start_seeding', 'tag=Prune'), 'start_seeding')
  expectOk(await deploy('murder:peer', 'tag=Prune', 'destination_path=/srv/prune', 'peer_seed_seconds=0'), 'peer')
  const tagsOf = (host: string, kind: string) => new Set(readOnHost(host, `ls ${run}`).trim().split('\n').filter((name) => name.startsWith(`${kind}.`)).map((name) => name.split('.')[1]))
  for (const [host, kind] of [[seeder, 'seed'], [peerHost, 'peer']] as const) {
    const tags = tagsOf(host, kind)
    assert.ok(tags.has('Prune'), `${host}: this transfer's files stay`)
    assert.ok(tags.size <= 11, `${host}: at most 10 ended ${kind} transfers besides this one, found ${tags.size - 1}`)
    assert.ok(tags.has('Old400') && !tags.has('Old390'), `${host}: the newest ended transfers stay, the oldest go`)
  }
  expectOk(await deploy('murder:stop_seeding', 'tag=Prune'), 'stop_seeding')
  expectOk(await deploy('murder:stop_tracker'), 'stop_tracker')
})

test("a tag packed again: murder:peer hands out the seeder's new torrent, not the controller's stale one, nor the old files peers still seed", async () => {
  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Again', 'files_path=/srv/files/sub'), 'first create_torrent')
  expectOk(await deploy('murder:start_seeding', 'tag=Again'), 'first start_seeding')
  expectOk(await deploy('murder:peer', 'tag=Again', 'destination_path=/srv/again', 'peer_seed_seconds=60'), 'first peer')
  const first = treeDigest(seeder, '/srv/files/sub')
  for (const host of hosts) assert.equal(treeDigest(host, '/srv/again/Again'), first, `${host} got the first torrent's files`)
  expectOk(await deploy('murder:stop_seeding', 'tag=Again'), 'first stop_seeding')
  // Remade from other files while the peers still seed the old ones, and this time not downloaded:
  // the controller's copy is stale.
  expectOk(await deploy('murder:create_torrent', 'tag=Again', 'files_path=/srv/files', 'do_not_download_torrent=1'), 'second create_torrent')
  expectOk(await deploy('murder:start_seeding', 'tag=Again'), 'start_seeding')
  const second = await deploy('murder:peer', 'tag=Again', 'destination_path=/srv/again', 'unsafe_please_delete=1', 'peer_seed_seconds=60')
  expectOk(second, 'second peer')
  assert.doesNotMatch(second.stderr, /joined the peer an earlier run left running/)
  const expected = treeDigest(seeder, '/srv/files').split('\n').filter((line) => !line.includes('./.git')).join('\n')
  for (const host of hosts) assert.equal(treeDigest(host, '/srv/again/Again'), expected, `${host} got the second torrent's files`)
  expectOk(await deploy('murder:stop_all_peering'), 'stop_all_peering')
  expectOk(await deploy('murder:stop_seeding', 'tag=Again'), 'stop_seeding')
  expectOk(await deploy('murder:stop_tracker'), 'stop_tracker')
})

test('paths with spaces, quotes and shell metacharacters are passed through as plain names', async () => {
  const odd = `/srv/odd dir/it's;touch /tmp/pwned;"$(touch /tmp/pwned)"`
  readOnHost(seeder, `mkdir -p ${quote(odd)} && echo odd > ${quote(`${odd}/file $x.txt`)}`)
  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Odd', `files_path=${odd}`), 'create_torrent from an odd path')
  expectOk(await deploy('murder:start_seeding', 'tag=Odd'), 'start_seeding')
  expectOk(await deploy('murder:peer', 'tag=Odd', `destination_path=${odd}/out`, 'peer_seed_seconds=0'), 'peer into an odd path')
  for (const host of hosts) {
    assert.equal(readOnHost(host, `cat ${quote(`${odd}/out/Odd/file $x.txt`)}`), 'odd\n', `${host} holds the file under the literal path`)
    assert.equal(onHost(host, 'test -e /tmp/pwned').code, 1, `no injected command ran on ${host}`)
  }
  expectOk(await deploy('murder:stop_seeding', 'tag=Odd'), 'stop_seeding')
  expectOk(await deploy('murder:stop_tracker'), 'stop_tracker')
})

test('bad murder input: a one-line error and nothing started', async () => {
  const cases: [string[], RegExp][] = [
    [['murder:create_torrent', 'files_path=/srv/files'], /^error: murder needs a tag: pass tag=NAME/],
    [['murder:create_torrent', 'tag=a/b', 'files_path=/srv/files'], /^error: Invalid tag "a\/b": use letters/],
    [['murder:create_torrent', 'tag=..', 'files_path=/srv/files'], /^error: Invalid tag "\.\.": /],
    [['murder:create_torrent', 'tag=x;touch${IFS}/tmp/pwned', 'files_path=/srv/files'], /^error: Invalid tag "x;touch\$\{IFS\}\/tmp\/pwned": /],
    [['murder:create_torrent', 'tag=T'], /^error: murder needs files_path: pass files_path=PATH/],
    [['murder:peer', 'tag=T'], /^error: murder needs destination_path: pass destination_path=PATH/],
    // Clearing these would take what is not murder's: a top-level directory, deploy_to's shared files.
    [['murder:distribute_files', 'remote_murder_path=/srv'], /^error: refusing to clear remote_murder_path \/srv: it is \/ or a top-level directory; /],
    [['murder:distribute_files', 'remote_murder_path=/srv/www/murder-e2e/shared'], /^error: refusing to clear remote_murder_path \/srv\/www\/murder-e2e\/shared: it is part of deploy_to's shared /],
  ]
  for (const [args, expected] of cases) {
    const result = await deploy(...args)
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
    assert.match(errorLine(result), expected)
  }
  for (const host of hosts) assert.equal(onHost(host, 'test -e /tmp/pwned').code, 1)
  assert.equal(onHost(seeder, 'test -f /srv/files/big.bin').code, 0, 'distribute_files cleared nothing')

  const missing = await deploy('murder:create_torrent', 'tag=Missing', 'files_path=/srv/nowhere')
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, new RegExp(`${seeder}: murder agent make-torrent: .*/srv/nowhere does not exist`))

  // distribute_files checks Node on every host first: missing, then too old (a stand-in printing 18.19.0).
  const absent = await deploy('murder:distribute_files', 'murder_node=/nonexistent/node')
  assert.equal(absent.code, 1)
  assert.match(absent.stderr, new RegExp(`${seeder} ✖ /nonexistent/node is missing \\(exit 127\\); install Node >= 20 there or set murder_node\\.`))
  const fakeDir = mkdtempSync('/var/lib/murder-old-node-') // shared with every farm host
  try {
    chmodSync(fakeDir, 0o755)
    writeFileSync(join(fakeDir, 'node'), '#!/bin/sh\nprintf 18.19.0\n', { mode: 0o755 })
    const old = await deploy('murder:distribute_files', `murder_node=${fakeDir}/node`)
    assert.equal(old.code, 1)
    assert.match(old.stderr, new RegExp(`${seeder} ✖ Node 18\\.19\\.0 is too old for the murder agent; install Node >= 20 there\\.`))
  } finally {
    rmSync(fakeDir, { recursive: true, force: true })
  }
})

test('peering fails clearly without a tracker, with an unknown torrent, without a seeder, and before distribute_files', async () => {
  expectOk(await deploy('murder:start_tracker'), 'start_tracker')
  expectOk(await deploy('murder:create_torrent', 'tag=Lonely', 'files_path=/srv/files'), 'create_torrent')
  expectOk(await deploy('murder:start_seeding', 'tag=Lonely'), 'start_seeding')
  // Packing a tag again while it is seeded would pull the payload from under its swarm.
  const payloadBefore = readOnHost(seeder, 'sha256sum /tmp/Lonely.tgz')
  const again = await deploy('murder:create_torrent', 'tag=Lonely', 'files_path=/srv/files/sub')
  assert.equal(again.code, 1)
  assert.ok(again.stderr.includes(`\n    ${seeder}: Lonely is being seeded; packing it again would pull its payload from under the swarm: run \`deploy farm murder:stop_seeding tag=Lonely\` first, or use a new tag.\n`), again.stderr)
  assert.equal(readOnHost(seeder, 'sha256sum /tmp/Lonely.tgz'), payloadBefore, 'the seeded payload is untouched')
  // So would removing it.
  const cleaned = await deploy('murder:clean_temp_files', 'tag=Lonely')
  assert.equal(cleaned.code, 1, cleaned.stderr)
  assert.match(errorLine(cleaned), new RegExp(`${seeder}: Lonely is being seeded; removing its files would pull its payload from under the swarm: run \`deploy farm murder:stop_seeding tag=Lonely\` first\\.`))
  assert.equal(readOnHost(seeder, 'sha256sum /tmp/Lonely.tgz'), payloadBefore, 'the seeded payload is still there')
  // Forget the torrent on the tracker: peers must be refused, not left waiting.
  readOnHost(seeder, `rm -f ${MURDER_PATH}/run/whitelist/*`)
  const unknown = await deploy('murder:peer', 'tag=Lonely', `HOSTS=${hosts[1]}`, 'destination_path=/srv/lonely', 'peer_seed_seconds=0')
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, new RegExp(`${hosts[1]}: murder agent peer: .*unknown torrent`))

  expectOk(await deploy('murder:stop_tracker'), 'stop_tracker')
  const started = Date.now()
  const noTracker = await deploy('murder:peer', 'tag=Lonely', `HOSTS=${hosts[2]}`, 'destination_path=/srv/lonely', 'peer_seed_seconds=0')
  assert.equal(noTracker.code, 1)
  assert.match(noTracker.stderr, new RegExp(`${hosts[2]}: murder agent peer: .*tracker .* not reachable`))
  assert.ok(Date.now() - started < 60_000, 'no hang')

  readOnHost(hosts[3] ?? '', `rm -f ${MURDER_PATH}/murder-agent.cjs`)
  const notInstalled = await deploy('murder:peer', 'tag=Lonely', 'destination_path=/srv/lonely2')
  assert.equal(notInstalled.code, 1)
  assert.match(
    notInstalled.stderr,
    new RegExp(`${hosts[3]}: the murder agent is not installed at ${MURDER_PATH}/murder-agent.cjs; run \`deploy farm murder:distribute_files\` first\\.`)
  )
  for (const host of hosts) assert.equal(onHost(host, 'test -e /srv/lonely2').code, 1, `nothing started on ${host}`)

  // Nobody seeding: said at once, not after swarm_stall_timeout (60 s).
  expectOk(await deploy('murder:stop_all_seeding'), 'stop_all_seeding')
  const unseeded = Date.now()
  const noSeeder = await deploy('murder:peer', 'tag=Lonely', `HOSTS=${hosts[1]}`, 'destination_path=/srv/lonely4')
  assert.equal(noSeeder.code, 1)
  assert.equal(errorLine(noSeeder), `error: ${seeder}: nothing seeds Lonely there; run \`deploy farm murder:start_seeding tag=Lonely\` first.`, noSeeder.stderr)
  assert.ok(Date.now() - unseeded < 20_000, `failed in ${Date.now() - unseeded} ms`)
  assert.equal(onHost(hosts[1] ?? '', 'test -e /srv/lonely4').code, 1, 'nothing made')

  // The payload gone from the seeder: no host could get it, so no host is touched.
  readOnHost(seeder, 'rm -f /tmp/Lonely.tgz')
  const noPayload = await deploy('murder:peer', 'tag=Lonely', 'destination_path=/srv/lonely3', 'max_fail=1')
  assert.equal(noPayload.code, 1)
  assert.match(errorLine(noPayload), new RegExp(`^error: ${seeder}: the seeder does not hold /tmp/Lonely\\.tgz \\(any more\\); run murder:create_torrent tag=Lonely and murder:start_seeding\\.$`))
  for (const host of hosts) assert.equal(onHost(host, 'test -e /srv/lonely3').code, 1, `nothing made on ${host}`)
})
