// The bundled murder agent as real processes on loopback addresses (no farm needed): a tracker, a
// seeder and peers, each "host" on its own 127.0.0.x. Asserts what the agents themselves recorded.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { readTorrentMeta } from '../../lib/torrent/agent/torrent-meta.ts'
import { buildTorrent } from '../../lib/torrent/agent/torrent-file.ts'
import { formatPidRecord } from '../../lib/torrent/agent/state-files.ts'
import { formatUnpackRequest, type AgentEvent } from '../../lib/torrent/protocol.ts'
import { encryptRelease } from '../../lib/deploy/release-source.ts'
import { formatKeyLine, newCipherKey } from '../../lib/torrent/agent/payload-cipher.ts'
import {
  agentProcesses,
  freePort,
  peerHome,
  readStats,
  runAgent,
  runPeers,
  SEEDER_IP,
  startSwarm,
  stopSwarm,
  TAG,
  TRACKER_IP,
  type SwarmSetup,
} from '../helpers/local-swarm.ts'

const KIB = 1024
const MIB = 1024 * KIB
const cleanups: (() => Promise<void>)[] = []

after(async () => {
  for (const cleanup of cleanups) await cleanup()
})

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? ''
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return condition()
}

function swarmFor(setup: SwarmSetup, peerStates: string[]): void {
  cleanups.push(() => stopSwarm(setup, peerStates))
}

test('tracker, seeder and 4 peers: identical payloads, verified, shared among peers, nothing left running', async () => {
  // Links of 40 Mbit/s: unshaped, loopback moves a copy faster than a CPU-starved peer starts, and
  // a swarm where peers join one by one measures start-up, not sharing.
  const setup = await startSwarm({ sizeBytes: 20 * MIB, linkBps: 5_000_000 })
  const states = [0, 1, 2, 3].map((index) => peerHome(setup, index).state)
  swarmFor(setup, states)
  const meta = await readTorrentMeta(setup.torrent)
  const results = await runPeers(setup, 4, 3)

  let receivedBytes = 0
  let fromPeersBytes = 0
  for (const result of results) {
    assert.equal(result.code, 0, `${result.ip}: ${result.stderr}`)
    const done = result.events.find((event) => event.type === 'done')
    assert.ok(done?.type === 'done', `${result.ip} printed done`)
    assert.equal(done.sha256, meta.sha256)
    assert.equal(done.totalBytes, 20 * MIB)
    assert.ok(result.events.some((event) => event.type === 'progress'), `${result.ip} printed progress`)
    assert.equal(sha256Of(result.payload), sha256Of(setup.payload), `${result.ip} holds the seeder's bytes`)
    assert.equal(readStats(join(result.state, `peer.${TAG}.stats.json`)).downloadedBytes, 20 * MIB, `${result.ip}'s stats show the whole download while it seeds on`)
    receivedBytes += done.fromSeederBytes + done.fromPeersBytes
    fromPeersBytes += done.fromPeersBytes
  }
  assert.ok(receivedBytes >= 4 * 20 * MIB)

  // Peers seed on for 3 s, then leave by themselves and remove their pid files.
  const peersGone = await waitFor(() => states.every((state) => !existsSync(join(state, `peer.${TAG}.pid`))), 15_000)
  assert.ok(peersGone, 'every peer daemon exited after seeding on')

  const seeder = readStats(join(setup.seedState, `seed.${TAG}.stats.json`))
  assert.ok(seeder.uploadedBytes < receivedBytes / 2, `the seeder sent ${seeder.uploadedBytes} of the ${receivedBytes} bytes peers received`)
  assert.ok(fromPeersBytes > receivedBytes / 2, `peers got ${fromPeersBytes} of ${receivedBytes} bytes from each other`)
  assert.ok(!seeder.peers.some((wire) => wire.isSeeder), 'the seeder never connected to itself')
  // 160 pieces of 128 KiB: each peer is first shown 1 MiB of them.
  const shownFirst = [...readFileSync(join(setup.seedState, `seed.${TAG}.log`), 'utf8').matchAll(/showing \S+ (\d+) of (\d+) pieces/g)]
  assert.ok(shownFirst.length >= states.length, 'every peer was shown pieces')
  for (const match of shownFirst) assert.equal(`${match[1]} of ${match[2]}`, `${MIB / meta.pieceLengthBytes} of ${meta.pieces}`)
  for (const state of states) {
    const stats = readStats(join(state, `peer.${TAG}.stats.json`))
    const ids = stats.peers.map((wire) => wire.peerId)
    assert.ok(stats.peers.every((wire) => !wire.isSeeder || wire.isOutgoing), 'the seeder never dials')
    assert.equal(ids.filter((id) => id.startsWith('2d4d53')).length <= 1, true, 'one connection to the seeder at most')
  }

  const stoppedSeed = await runAgent(setup.agent, ['stop', '--state', setup.seedState, '--kind', 'seed', '--tag', TAG])
  assert.equal(stoppedSeed.code, 0, stoppedSeed.stderr)
  assert.deepEqual(stoppedSeed.events[0], { type: 'stopped', stopped: [{ kind: 'seed', tag: TAG, pid: seeder.pid }], stale: [], notRunning: false })
  const stoppedTracker = await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])
  assert.equal(stoppedTracker.events[0]?.type === 'stopped' && stoppedTracker.events[0].stopped.length, 1)
  assert.deepEqual(agentProcesses(setup), [], 'no agent process left')
})

test('a seeder started before its payload arrives serves each piece once its bytes match; peers end byte-identical', { timeout: 60_000 }, async () => {
  // deploy_via murder: the release is still being uploaded to the seeder as the swarm starts.
  const setup = await startSwarm({ sizeBytes: 4 * MIB, shouldSeed: false })
  swarmFor(setup, [0, 1].map((index) => peerHome(setup, index).state))
  const full = readFileSync(setup.payload)
  rmSync(setup.payload)
  const started = await runAgent(setup.agent, ['seed', '--state', setup.seedState, '--tag', TAG, '--torrent', setup.torrent, '--payload', setup.payload, '--announce-ip', SEEDER_IP, '--arriving'])
  assert.equal(started.code, 0, started.stderr)
  let isDone = false
  const peers = runPeers(setup, 2, 1).finally(() => (isDone = true))

  // Every piece but one written; that one holds zeros, as a range an upload has not reached.
  const { pieceLengthBytes: piece } = await readTorrentMeta(setup.torrent)
  const hole = 3 * piece
  const fd = openSync(setup.payload, 'w')
  writeSync(fd, full, 0, hole, 0)
  writeSync(fd, Buffer.alloc(piece), 0, piece, hole)
  writeSync(fd, full, hole + piece, full.length - hole - piece, hole + piece)
  await new Promise((resolve) => setTimeout(resolve, 3000))
  assert.equal(isDone, false, 'no peer completes while a piece holds other bytes')
  writeSync(fd, full, hole, piece, hole)
  closeSync(fd)

  for (const result of await peers) {
    assert.equal(result.code, 0, `${result.ip}: ${result.stderr}`)
    assert.equal(sha256Of(result.payload), sha256Of(setup.payload), `${result.ip} holds the uploaded bytes`)
  }
  assert.match(readFileSync(join(setup.seedState, `seed.${TAG}.log`), 'utf8'), new RegExp(`payload complete: all ${full.length / piece} pieces arrived`))
  const seeder = readStats(join(setup.seedState, `seed.${TAG}.stats.json`))
  assert.ok(seeder.uploadedBytes < 1.5 * full.length, `the seeder sent ${seeder.uploadedBytes} bytes for a ${full.length}-byte payload: each piece about once`)
})

test('a download shorter than a progress tick still reports progress', async () => {
  // 1 MiB over unshaped loopback ends well inside the daemon's first 500 ms tick.
  const setup = await startSwarm({ sizeBytes: 1 * MIB })
  swarmFor(setup, [0, 1].map((index) => peerHome(setup, index).state))
  for (const result of await runPeers(setup, 2, 1)) {
    assert.equal(result.code, 0, `${result.ip}: ${result.stderr}`)
    assert.ok(result.events.some((event) => event.type === 'progress'), `${result.ip} printed progress`)
  }
})

for (const mode of [[], ['--hold']]) {
  test(`peers fail with one clear line: unknown torrent, no tracker, timeout, sha256 mismatch, a directory in the way${mode.length ? ' (--hold)' : ''}`, async () => {
    const setup = await startSwarm({ sizeBytes: 2 * MIB, shouldAllow: false, shouldSeed: false })
    const peer = peerHome(setup, 0)
    swarmFor(setup, [peer.state])
    const args = (extra: string[] = []) => [...peer.args(0), ...extra, ...mode]

    const refused = await runAgent(setup.agent, args())
    assert.equal(refused.code, 1)
    assert.match(lastLine(refused.stderr), /^tracker http:\/\/127\.0\.0\.2:\d+\/announce refused torrent [0-9a-f]{40}: unknown torrent; run murder:create_torrent to whitelist it on the tracker$/)
    assert.deepEqual(refused.events.at(-1), { type: 'failed', message: lastLine(refused.stderr) })

    const meta = await readTorrentMeta(setup.torrent)
    await runAgent(setup.agent, ['allow', '--state', setup.trackerState, '--info-hash', meta.infoHash])
    const timedOut = await runAgent(setup.agent, args(['--timeout-s', '2']))
    assert.equal(timedOut.code, 1)
    assert.match(lastLine(timedOut.stderr), /^download of Swarm1 not finished after 2 s \(0 of 2097152 bytes\); raise peer_timeout or check the swarm\.$/)

    // Thrown while the peer starts, before it joins the swarm.
    rmSync(peer.payload, { force: true })
    mkdirSync(peer.payload)
    const blocked = await runAgent(setup.agent, args())
    assert.equal(blocked.code, 1)
    assert.equal(lastLine(blocked.stderr), `payload path ${peer.payload} exists and is not a file; remove it or use another temp_path.`)
    rmSync(peer.payload, { recursive: true })

    await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])
    const startedAt = Date.now()
    const noTracker = await runAgent(setup.agent, args())
    assert.equal(noTracker.code, 1)
    assert.match(lastLine(noTracker.stderr), /^tracker http:\/\/127\.0\.0\.2:\d+\/announce not reachable: .*; check that murder:start_tracker ran and the port is open\.$/)
    assert.ok(Date.now() - startedAt < 20_000, 'no hang')

    // A torrent whose recorded sha256 does not match its pieces: every piece verifies, the file does not.
    const wrong = buildTorrent({
      name: `${TAG}.tgz`,
      announce: meta.announce,
      sha256: '0'.repeat(64),
      sizeBytes: meta.sizeBytes,
      pieceLengthBytes: meta.pieceLengthBytes,
      pieceHashes: Buffer.concat(piecesOf(readFileSync(setup.payload), meta.pieceLengthBytes)),
      createdAtMs: Date.now(),
      createdBy: 'test',
    })
    writeFileSync(peer.torrent, wrong.torrent)
    writeFileSync(peer.payload, readFileSync(setup.payload))
    const mismatch = await runAgent(setup.agent, args())
    assert.equal(mismatch.code, 1)
    assert.equal(lastLine(mismatch.stderr), `sha256 mismatch for ${peer.payload}: got ${meta.sha256}, the torrent says ${'0'.repeat(64)}; run murder:create_torrent again.`)
    assert.deepEqual(agentProcesses(setup), [])
  })
}

function piecesOf(payload: Buffer, pieceLength: number): Buffer[] {
  const hashes: Buffer[] = []
  for (let at = 0; at < payload.length; at += pieceLength) hashes.push(createHash('sha1').update(payload.subarray(at, at + pieceLength)).digest())
  return hashes
}

test('a peer re-run after a crash keeps the pieces it had; a second run attaches to a live daemon', async () => {
  // 2.5 MB/s links: 10 MiB take about 4 s, long enough to crash the first run midway.
  const setup = await startSwarm({ sizeBytes: 10 * MIB, linkBps: 2_500_000 })
  const peer = peerHome(setup, 0)
  swarmFor(setup, [peer.state])

  const first = spawn(process.execPath, [setup.agent, ...peer.args(30)], { env: { ...process.env, ...setup.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  first.stdout.setEncoding('utf8').on('data', (text: string) => (output += text))
  // More than 4 MiB reported: at least 3 MiB of whole pieces on disk, whatever blocks were still in memory.
  const halfway = await waitFor(() => output.split('\n').some((line) => line.includes('"progress"') && Number(/"downloadedBytes":(\d+)/.exec(line)?.[1] ?? 0) > 4 * MIB), 20_000)
  assert.ok(halfway, 'the first run got 4 MiB of the payload')
  const pidFile = join(peer.state, `peer.${TAG}.pid`)
  const record = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }
  process.kill(record.pid, 'SIGKILL')
  first.kill('SIGKILL')

  const rerun = runAgent(setup.agent, peer.args(30), setup.env)
  const relaunched = await waitFor(() => {
    try {
      return (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid !== record.pid
    } catch {
      return false // not written yet, or half-written
    }
  }, 20_000)
  assert.ok(relaunched, 'the re-run started a new daemon')
  const [again, attached] = await Promise.all([rerun, runAgent(setup.agent, peer.args(30), setup.env)])
  assert.equal(again.code, 0, again.stderr)
  const done = again.events.find((event): event is Extract<AgentEvent, { type: 'done' }> => event.type === 'done')
  assert.ok(done)
  assert.ok(done.fromSeederBytes + done.fromPeersBytes < 8 * MIB, `the re-run fetched ${done.fromSeederBytes + done.fromPeersBytes} bytes, not all 10 MiB`)
  assert.equal(sha256Of(peer.payload), sha256Of(setup.payload))
  assert.equal(attached.code, 0, attached.stderr)
  assert.deepEqual(attached.events.find((event) => event.type === 'done'), done, 'the second run followed the same daemon')

  const stopped = await runAgent(setup.agent, ['stop', '--state', peer.state, '--kind', 'peer', '--all'])
  assert.equal(stopped.events[0]?.type === 'stopped' && stopped.events[0].stopped.length, 1)
})

test('stop never signals a process that merely reuses a recorded pid; stale pid files are cleaned', async () => {
  const setup = await startSwarm({ sizeBytes: 1 * MIB, shouldSeed: false })
  swarmFor(setup, [])
  const bystander = spawn('sleep', ['30'], { stdio: 'ignore' })
  cleanups.push(async () => void bystander.kill())
  const pid = bystander.pid ?? 0
  const fake = { pid, kind: 'seed' as const, tag: 'Old', argv: [setup.agent, 'daemon', 'seed', '--tag', 'Old'], startedAt: '' }
  mkdirSync(setup.seedState, { recursive: true })
  writeFileSync(join(setup.seedState, 'seed.Old.pid'), formatPidRecord(fake))

  const status = await runAgent(setup.agent, ['status', '--state', setup.seedState])
  assert.deepEqual(status.events[0], { type: 'status', running: [], stale: [{ kind: 'seed', tag: 'Old', pid }], stats: [] })
  const stopped = await runAgent(setup.agent, ['stop', '--state', setup.seedState, '--kind', 'seed', '--all'])
  assert.deepEqual(stopped.events[0], { type: 'stopped', stopped: [], stale: [{ kind: 'seed', tag: 'Old', pid }], notRunning: true })
  assert.equal(existsSync(join(setup.seedState, 'seed.Old.pid')), false)
  assert.equal(bystander.exitCode, null, 'the unrelated process is still running')

  const again = await runAgent(setup.agent, ['tracker', '--state', setup.trackerState, '--host', TRACKER_IP, '--port', String(await freePort(TRACKER_IP))])
  assert.equal(again.code, 1)
  assert.match(lastLine(again.stderr), /^tracker with other settings already running \(pid \d+\); stop it first \(deploy STAGE murder:stop_tracker, or agent stop --kind tracker\)\.$/)
  const trackerStatus = await runAgent(setup.agent, ['status', '--state', setup.trackerState])
  assert.equal(trackerStatus.events[0]?.type === 'status' && trackerStatus.events[0].running[0]?.kind, 'tracker')
  await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])
  const twice = await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])
  assert.deepEqual(twice.events[0], { type: 'stopped', stopped: [], stale: [], notRunning: true })

  const port = await freePort(TRACKER_IP)
  const blocker = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '${TRACKER_IP}', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] })
  cleanups.push(async () => void blocker.kill())
  await new Promise((resolve) => blocker.stdout.once('data', resolve))
  const busy = await runAgent(setup.agent, ['tracker', '--state', setup.trackerState, '--host', TRACKER_IP, '--port', String(port)])
  assert.equal(busy.code, 1)
  assert.equal(lastLine(busy.stderr), `port ${port} on ${TRACKER_IP} is already in use; stop what listens there or set tracker_port to a free port.`)
  assert.deepEqual(agentProcesses(setup), [])
})

test('a second start with the same settings leaves the running tracker and seeder be; other settings are refused', async () => {
  const setup = await startSwarm({ sizeBytes: 1 * MIB })
  swarmFor(setup, [])
  const before = await runAgent(setup.agent, ['status', '--state', setup.seedState])
  const seederPid = before.events[0]?.type === 'status' ? before.events[0].running[0]?.pid : undefined
  assert.ok(seederPid, JSON.stringify(before.events))
  const port = new URL(setup.announce).port
  const tracker = await runAgent(setup.agent, ['tracker', '--state', setup.trackerState, '--host', TRACKER_IP, '--port', port])
  assert.equal(tracker.code, 0, tracker.stderr)
  assert.deepEqual(tracker.events[0], { type: 'started', kind: 'tracker', pid: (tracker.events[0] as { pid: number }).pid, port: Number(port), wasRunning: true })
  const seedArgs = ['seed', '--state', setup.seedState, '--tag', TAG, '--torrent', setup.torrent, '--payload', setup.payload, '--announce-ip', SEEDER_IP]
  const seed = await runAgent(setup.agent, seedArgs, setup.env)
  assert.equal(seed.code, 0, seed.stderr)
  assert.equal(seed.events[0]?.type === 'started' && seed.events[0].wasRunning && seed.events[0].pid, seederPid)
  const otherAddress = await runAgent(setup.agent, [...seedArgs.slice(0, -1), '127.0.0.99'], setup.env)
  assert.equal(otherAddress.code, 1)
  assert.match(lastLine(otherAddress.stderr), new RegExp(`^a seeder for ${TAG} with other settings already running \\(pid ${seederPid}\\); stop it first `))
  const afterwards = await runAgent(setup.agent, ['status', '--state', setup.seedState])
  assert.equal(afterwards.events[0]?.type === 'status' && afterwards.events[0].running.map((ref) => ref.pid).join(), String(seederPid), 'the first seeder still runs, alone')
})

test('make-torrent packs a directory without .git*, or copies one file, and names what is wrong', async () => {
  const setup = await startSwarm({ sizeBytes: 1000, shouldSeed: false })
  swarmFor(setup, [])
  const source = join(setup.directory, 'tree')
  mkdirSync(join(source, '.git'), { recursive: true })
  mkdirSync(join(source, 'sub'), { recursive: true })
  writeFileSync(join(source, '.git/config'), 'secret')
  writeFileSync(join(source, '.gitignore'), '*.log')
  writeFileSync(join(source, 'sub/a b.txt'), 'hello')
  const tgz = join(setup.directory, 'out/T2.tgz')
  const make = (args: string[]) => runAgent(setup.agent, ['make-torrent', '--tgz', tgz, '--torrent', `${tgz}.torrent`, '--announce', setup.announce, ...args])

  const packed = await make(['--source', source])
  assert.equal(packed.code, 0, packed.stderr)
  const listing = await new Promise<string>((resolve) => {
    const tar = spawn('tar', ['-tzf', tgz])
    let text = ''
    tar.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
    tar.on('close', () => resolve(text))
  })
  assert.deepEqual(listing.trim().split('\n').sort(), ['./', './sub/', './sub/a b.txt'])
  const event = packed.events[0]
  assert.ok(event?.type === 'torrent')
  assert.equal(event.sha256, sha256Of(tgz))
  assert.equal(event.pieceLengthBytes, 16 * KIB, 'a small archive is cut into the smallest pieces')

  const cases: [string[], string][] = [
    [['--source', join(setup.directory, 'nowhere')], `files_path ${join(setup.directory, 'nowhere')} does not exist on this host; check files_path.`],
    [['--source', join(source, '.gitignore')], `files_path ${join(source, '.gitignore')} is not a directory; pass path_is_file=1 to distribute a single file.`],
    [['--source', source, '--path-is-file'], `files_path ${source} is not a regular file; drop path_is_file=1 to pack a directory.`],
    [['--source', source, '--announce', 'ftp://x'], 'make-torrent: --announce given more than once'],
  ]
  for (const [args, message] of cases) {
    const result = await make(args)
    assert.notEqual(result.code, 0, args.join(' '))
    assert.equal(lastLine(result.stderr), message)
  }
})

/** An agent command with `--hold` as deploy_via murder runs it: stdin kept open, events read as they come. */
function startHeld(setup: SwarmSetup, args: string[]) {
  const child = spawn(process.execPath, [setup.agent, ...args, '--hold'], { env: { ...process.env, ...setup.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  const events: AgentEvent[] = []
  let stderr = ''
  let pending = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const lines = (pending + text).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as AgentEvent)
  })
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, events, exited, stderr: () => stderr }
}

const isAlive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0

test('peer --hold is its own daemon: status and --follow find it; stop on stdin ends it and removes payload and torrent', { timeout: 60_000 }, async () => {
  const setup = await startSwarm({ sizeBytes: 4 * MIB })
  const home = peerHome(setup, 0)
  swarmFor(setup, [home.state])
  const held = startHeld(setup, home.args(30))
  assert.ok(await waitFor(() => held.events.some((event) => event.type === 'done'), 30_000), `no done: ${held.stderr()}`)
  const pid = held.child.pid ?? 0
  assert.deepEqual(held.events[0], { type: 'started', kind: 'peer', pid, tag: TAG })
  assert.equal(sha256Of(home.payload), sha256Of(setup.payload))
  assert.deepEqual(agentProcesses(setup).filter((line) => line.includes(' daemon peer ')), [], 'no detached peer daemon was started')

  const status = await runAgent(setup.agent, ['status', '--state', home.state])
  const reported = status.events[0]
  assert.ok(reported?.type === 'status')
  assert.deepEqual(reported.running, [{ kind: 'peer', tag: TAG, pid }])
  const followed = await runAgent(setup.agent, [...home.args(30), '--follow'])
  assert.equal(followed.code, 0, followed.stderr)
  const types = followed.events.map((event) => event.type)
  assert.deepEqual([types[0], types.at(-1)], ['started', 'done'])

  held.child.stdin.write('stop\n')
  assert.equal(await held.exited, 0, held.stderr())
  const stopped = held.events.at(-1)
  assert.ok(stopped?.type === 'stopped')
  assert.deepEqual(stopped.stopped, [{ kind: 'peer', tag: TAG, pid }])
  assert.deepEqual(stopped.removed, [home.payload, home.torrent])
  assert.equal(existsSync(home.payload) || existsSync(home.torrent), false)
  assert.equal(existsSync(join(home.state, `peer.${TAG}.pid`)), false)
})

test('peer --hold --torrent-from-stdin: the torrent comes first on stdin and the stop line after it', { timeout: 60_000 }, async () => {
  const setup = await startSwarm({ sizeBytes: 4 * MIB })
  const home = peerHome(setup, 0)
  swarmFor(setup, [home.state])
  const torrent = readFileSync(home.torrent)
  rmSync(home.torrent)
  const held = startHeld(setup, [...home.args(30), '--torrent-from-stdin', String(torrent.length)])
  held.child.stdin.write(torrent)
  assert.ok(await waitFor(() => held.events.some((event) => event.type === 'done'), 30_000), `no done: ${held.stderr()}`)
  assert.deepEqual(readFileSync(home.torrent), torrent)
  assert.equal(sha256Of(home.payload), sha256Of(setup.payload))
  held.child.stdin.write('stop\n')
  assert.equal(await held.exited, 0, held.stderr())
  assert.equal(held.events.at(-1)?.type, 'stopped')
  assert.equal(existsSync(home.payload) || existsSync(home.torrent), false)

  // Cut short: one line saying so, and nothing started.
  const short = startHeld(setup, [...home.args(30), '--torrent-from-stdin', String(torrent.length)])
  short.child.stdin.end(torrent.subarray(0, 100))
  assert.equal(await short.exited, 1)
  assert.equal(lastLine(short.stderr()), `stdin ended after 100 of the torrent's ${torrent.length} bytes (--torrent-from-stdin); the controller's connection was cut, run the task again.`)
  assert.deepEqual(short.events, [])
  assert.equal(existsSync(home.torrent), false)
})

test('peer --hold: the end of stdin leaves it seeding for --seed-seconds; stop --kind peer or SIGTERM ends it at once', { timeout: 60_000 }, async () => {
  const setup = await startSwarm({ sizeBytes: 4 * MIB })
  const homes = [peerHome(setup, 0), peerHome(setup, 1), peerHome(setup, 2)]
  swarmFor(setup, homes.map((home) => home.state))
  const [seeding, stopped, waiting] = homes.map((home, index) => startHeld(setup, home.args([3, 60, 1][index] ?? 0)))
  assert.ok(seeding && stopped && waiting)
  for (const held of [seeding, stopped, waiting]) assert.ok(await waitFor(() => held.events.some((event) => event.type === 'done'), 30_000), `no done: ${held.stderr()}`)

  seeding.child.stdin.end()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.ok(isAlive(seeding.child.pid ?? 0), 'still seeding after its stdin ended')
  assert.equal(await seeding.exited, 0, seeding.stderr())
  assert.equal(existsSync(homes[0]?.payload ?? ''), true, 'the payload stays without a stop request')
  assert.equal(existsSync(join(homes[0]?.state ?? '', `peer.${TAG}.pid`)), false)

  const startedAt = Date.now()
  const stop = await runAgent(setup.agent, ['stop', '--state', homes[1]?.state ?? '', '--kind', 'peer', '--tag', TAG])
  assert.equal(stop.code, 0, stop.stderr)
  assert.deepEqual(stop.events[0], { type: 'stopped', stopped: [{ kind: 'peer', tag: TAG, pid: stopped.child.pid }], stale: [], notRunning: false })
  assert.equal(await stopped.exited, 0, stopped.stderr())
  assert.ok(Date.now() - startedAt < 4000, `stopped by SIGTERM in ${Date.now() - startedAt} ms, not by the SIGKILL after the grace period`)

  // Done seeding, its stdin still open: it waits for the controller, but a signal still ends it.
  assert.ok(await waitFor(() => !existsSync(join(homes[2]?.state ?? '', `peer.${TAG}.pid`)), 10_000), 'seeding ended')
  waiting.child.kill('SIGTERM')
  assert.equal(await waiting.exited, 0, waiting.stderr())
})

test('tracker --hold --allow and seed --hold are their own daemons, told to stop on stdin; a tracker already running is left be', { timeout: 60_000 }, async () => {
  const setup = await startSwarm({ sizeBytes: 4 * MIB, shouldAllow: false, shouldSeed: false })
  const home = peerHome(setup, 0)
  swarmFor(setup, [home.state])
  const { infoHash } = await readTorrentMeta(setup.torrent)
  const port = new URL(setup.announce).port
  const trackerArgs = ['tracker', '--state', setup.trackerState, '--host', TRACKER_IP, '--port', port, '--allow', infoHash]

  // startSwarm's tracker runs: the held command allows the torrent on it and ends at once, leaving it running.
  const beside = startHeld(setup, trackerArgs)
  assert.equal(await beside.exited, 0, beside.stderr())
  assert.deepEqual(beside.events, [{ type: 'allowed', infoHash }])
  const before = (await runAgent(setup.agent, ['status', '--state', setup.trackerState])).events[0]
  assert.ok(before?.type === 'status')
  const running = before.running.map((ref) => ref.kind)
  assert.deepEqual(running, ['tracker'], 'the tracker that ran is still running')
  assert.equal((await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])).code, 0)

  const tracker = startHeld(setup, trackerArgs)
  assert.ok(await waitFor(() => tracker.events.some((event) => event.type === 'started'), 20_000), `no tracker started: ${tracker.stderr()}`)
  const seeder = startHeld(setup, ['seed', '--state', setup.seedState, '--tag', TAG, '--torrent', setup.torrent, '--payload', setup.payload, '--announce-ip', SEEDER_IP])
  assert.ok(await waitFor(() => seeder.events.some((event) => event.type === 'started'), 20_000), `no seeder started: ${seeder.stderr()}`)
  for (const [held, state, kind] of [[tracker, setup.trackerState, 'tracker'], [seeder, setup.seedState, 'seed']] as const) {
    const status = (await runAgent(setup.agent, ['status', '--state', state])).events[0]
    assert.ok(status?.type === 'status')
    assert.deepEqual(status.running.map((ref) => [ref.kind, ref.pid]), [[kind, held.child.pid]], `${kind}: the command is the daemon`)
  }
  assert.deepEqual(agentProcesses(setup).filter((line) => line.includes(' daemon ')), [], 'no detached daemon was started')

  const [peer] = await runPeers(setup, 1, 0)
  assert.equal(peer?.code, 0, peer?.stderr)
  assert.equal(sha256Of(home.payload), sha256Of(setup.payload), 'the held tracker and seeder served a peer')

  seeder.child.stdin.write('stop\n')
  assert.equal(await seeder.exited, 0, seeder.stderr())
  assert.deepEqual(seeder.events.at(-1), { type: 'stopped', stopped: [{ kind: 'seed', tag: TAG, pid: seeder.child.pid }], stale: [], notRunning: false, removed: [setup.payload, setup.torrent] })
  assert.equal(existsSync(setup.payload) || existsSync(setup.torrent), false, 'payload and torrent removed')
  tracker.child.stdin.write('stop\n')
  assert.equal(await tracker.exited, 0, tracker.stderr())
  assert.deepEqual(tracker.events.at(-1), { type: 'stopped', stopped: [{ kind: 'tracker', pid: tracker.child.pid }], stale: [], notRunning: false, removed: [] })
  for (const path of [join(setup.trackerState, 'tracker.pid'), join(setup.seedState, `seed.${TAG}.pid`)]) assert.equal(existsSync(path), false, `${path} removed`)
  assert.deepEqual(agentProcesses(setup), [], 'nothing left running')
})

test('a peer no byte reaches for --stall-s gives up and removes its partial payload, held or detached; a held tracker and seeder whose controller went away end once idle', { timeout: 60_000 }, async () => {
  const setup = await startSwarm({ sizeBytes: 4 * MIB, shouldSeed: false })
  const [held, detached, patient] = [peerHome(setup, 0), peerHome(setup, 1), peerHome(setup, 2)]
  swarmFor(setup, [held.state, detached.state, patient.state])
  // No seeder: no peer can receive a byte.
  const stranded = startHeld(setup, [...held.args(30), '--stall-s', '1'])
  const waiting = startHeld(setup, patient.args(30))
  const launched = await runAgent(setup.agent, [...detached.args(30), '--stall-s', '1', '--detach'])
  assert.equal(launched.code, 0, launched.stderr)
  assert.equal(await stranded.exited, 1, stranded.stderr())
  assert.equal(lastLine(stranded.stderr()), `download of ${TAG} gave up: no byte arrived for 1 s (its seeder gone, or this host cut off from the swarm); its partial payload was removed.`)
  assert.ok(await waitFor(() => !existsSync(join(detached.state, `peer.${TAG}.pid`)), 10_000), 'the detached daemon ended')
  for (const home of [held, detached]) {
    assert.equal(existsSync(home.payload) || existsSync(home.torrent), false, `${home.ip}: partial payload and torrent removed`)
    assert.equal(existsSync(join(home.state, `peer.${TAG}.pid`)), false)
  }
  assert.ok(isAlive(waiting.child.pid ?? 0), 'without --stall-s a stranded peer waits on')
  waiting.child.kill('SIGTERM')
  assert.equal(await waiting.exited, 1, waiting.stderr())

  const { infoHash } = await readTorrentMeta(setup.torrent)
  const trackerArgs = ['tracker', '--state', setup.trackerState, '--host', TRACKER_IP, '--port', new URL(setup.announce).port, '--allow', infoHash]
  assert.equal((await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])).code, 0)
  // It waits at least 3 announce intervals (peers announce only that often): 3 s here.
  const tracker = startHeld(setup, [...trackerArgs, '--announce-interval-s', '1', '--orphan-idle-s', '1'])
  assert.ok(await waitFor(() => tracker.events.some((event) => event.type === 'started'), 20_000), `no tracker started: ${tracker.stderr()}`)
  const seeder = startHeld(setup, ['seed', '--state', setup.seedState, '--tag', TAG, '--torrent', setup.torrent, '--payload', setup.payload, '--announce-ip', SEEDER_IP, '--orphan-idle-s', '1'])
  assert.ok(await waitFor(() => seeder.events.some((event) => event.type === 'started'), 20_000), `no seeder started: ${seeder.stderr()}`)
  const served = peerHome(setup, 3)
  swarmFor(setup, [served.state])
  const download = await runAgent(setup.agent, [...served.args(0), '--stall-s', '2'])
  assert.equal(download.code, 0, `a peer of a live swarm does not give up: ${download.stderr}`)
  assert.equal(sha256Of(served.payload), sha256Of(setup.payload))
  await new Promise((resolve) => setTimeout(resolve, 2000))
  assert.ok(isAlive(tracker.child.pid ?? 0) && isAlive(seeder.child.pid ?? 0), 'idle, but their controller is there: they run on')
  for (const command of [seeder, tracker]) command.child.stdin.end()
  assert.equal(await seeder.exited, 0, seeder.stderr())
  assert.equal(await tracker.exited, 0, tracker.stderr())
  assert.equal(existsSync(setup.payload) || existsSync(setup.torrent), false, "the seeder's payload and torrent removed")
  for (const path of [join(setup.trackerState, 'tracker.pid'), join(setup.seedState, `seed.${TAG}.pid`)]) assert.equal(existsSync(path), false, `${path} removed`)
  assert.deepEqual(agentProcesses(setup), [], 'nothing left running')
})

test('a held peer and a held seeder unpack the payload they hold when asked on stdin, then stop; a tracker holds none', { timeout: 60_000 }, async () => {
  const source = mkdtempSync('/tmp/murder-release-')
  mkdirSync(join(source, 'app', 'config'), { recursive: true })
  writeFileSync(join(source, 'app', 'index.html'), '<h1>sealed</h1>\n')
  writeFileSync(join(source, 'app', 'config', 'secret.yml'), 'password: hunter2\n')
  execFileSync('tar', ['-czf', join(source, 'release.tgz'), '-C', join(source, 'app'), '.'])
  const sealed = await encryptRelease(join(source, 'release.tgz'))
  cleanups.push(async () => {
    sealed.remove()
    rmSync(source, { recursive: true, force: true })
  })
  const setup = await startSwarm({ sizeBytes: 0, payloadFile: sealed.path, shouldSeed: false })
  const home = peerHome(setup, 0)
  swarmFor(setup, [home.state])
  const seeder = startHeld(setup, ['seed', '--state', setup.seedState, '--tag', TAG, '--torrent', setup.torrent, '--payload', setup.payload, '--announce-ip', SEEDER_IP])
  assert.ok(await waitFor(() => seeder.events.some((event) => event.type === 'started'), 20_000), `no seeder started: ${seeder.stderr()}`)
  const peer = startHeld(setup, home.args(30))
  assert.ok(await waitFor(() => peer.events.some((event) => event.type === 'done'), 30_000), `no done: ${peer.stderr()}`)

  const keyLine = formatKeyLine(sealed.key).trim()
  const answers: [ReturnType<typeof startHeld>, string][] = [[peer, join(source, 'on-peer')], [seeder, join(source, 'on-seeder')]]
  for (const [held, release] of answers) {
    const before = held.events.length
    held.child.stdin.write(`${formatUnpackRequest({ into: `${release}.incoming`, renameTo: release, keyLine })}\n`)
    assert.ok(await waitFor(() => held.events.length > before, 20_000), `no answer: ${held.stderr()}`)
    assert.deepEqual(held.events.at(-1), { type: 'unpacked', into: `${release}.incoming`, renamedTo: release })
    assert.equal(readFileSync(join(release, 'config', 'secret.yml'), 'utf8'), 'password: hunter2\n')
  }
  // A wrong key: refused before tar writes a byte, the command still held and stoppable.
  const stranger = formatKeyLine({ ...newCipherKey(), plainSha256: 'ab'.repeat(32) }).trim()
  peer.child.stdin.write(`${formatUnpackRequest({ into: join(source, 'wrong'), keyLine: stranger })}\n`)
  assert.ok(await waitFor(() => peer.events.at(-1)?.type === 'unpackFailed', 20_000), peer.stderr())
  assert.deepEqual(readdirSync(join(source, 'wrong')), [])

  for (const held of [peer, seeder]) {
    held.child.stdin.write('stop\n')
    assert.equal(await held.exited, 0, held.stderr())
    assert.equal(held.events.at(-1)?.type, 'stopped')
  }
  assert.equal(existsSync(home.payload) || existsSync(setup.payload), false, 'payloads removed at the stop')

  const port = new URL(setup.announce).port
  assert.equal((await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])).code, 0)
  const tracker = startHeld(setup, ['tracker', '--state', setup.trackerState, '--host', TRACKER_IP, '--port', port])
  assert.ok(await waitFor(() => tracker.events.some((event) => event.type === 'started'), 20_000), `no tracker started: ${tracker.stderr()}`)
  tracker.child.stdin.write(`${formatUnpackRequest({ into: join(source, 'tracker') })}\nstop\n`)
  assert.equal(await tracker.exited, 0, tracker.stderr())
  assert.deepEqual(tracker.events.slice(-2).map((event) => event.type), ['unpackFailed', 'stopped'])
  assert.equal(existsSync(join(source, 'tracker')), false)
})
