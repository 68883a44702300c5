import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { PassThrough } from 'node:stream'
import { holdUntilStopped } from '../../lib/torrent/agent/hold.ts'
import { daemonArguments, runPeer, type PeerOptions } from '../../lib/torrent/agent/peer.ts'
import { isRunning, readPidFile } from '../../lib/torrent/agent/processes.ts'
import { formatEvent, formatUnpackRequest, type AgentEvent } from '../../lib/torrent/protocol.ts'
import { formatPidRecord, processFiles } from '../../lib/torrent/agent/state-files.ts'
import { REPO_ROOT } from '../helpers/cli.ts'
import { heldBackPayload, untilWritingBegins, type HeldBackPayload } from '../helpers/held-back-payload.ts'

// `peer --follow` (runPeer's isFollowOnly) is what deploy_via murder runs after starting every
// daemon with `peer --detach`; it must never start a daemon of its own.

function optionsIn(state: string): PeerOptions {
  return { state, tag: 'T', torrent: `${state}/T.tgz.torrent`, payload: `${state}/T.tgz`, announceIp: '10.0.0.2', seederIp: '10.0.0.1', seedSeconds: 30, timeoutS: 0, stallS: 0, port: 0 }
}

/** A stand-in daemon: a live process whose command line ends with these words, recorded in a pid file. */
function startStandIn(options: PeerOptions, words: string[]): () => void {
  const argv = ['-e', 'setTimeout(() => {}, 30000)', '--', ...words]
  const child = spawn(process.execPath, argv, { stdio: 'ignore' })
  const record = { pid: child.pid ?? 0, kind: 'peer' as const, tag: options.tag, argv, startedAt: new Date().toISOString() }
  writeFileSync(processFiles(options.state, 'peer', options.tag).pid, formatPidRecord(record))
  return () => child.kill('SIGKILL')
}

async function withState(body: (options: PeerOptions, events: string) => Promise<void>): Promise<void> {
  const state = mkdtempSync('/tmp/murder-peer-follow-')
  try {
    const options = optionsIn(state)
    await body(options, processFiles(state, 'peer', 'T').events)
  } finally {
    rmSync(state, { recursive: true, force: true })
  }
}

const line = (event: AgentEvent) => `${formatEvent(event)}\n`
const progress: AgentEvent = { type: 'progress', downloadedBytes: 1, totalBytes: 2, uploadedBytes: 0, fromSeederBytes: 1, fromPeersBytes: 0, downRateBps: 0, upRateBps: 0, wires: 1 }
const done: AgentEvent = { type: 'done', elapsedMs: 1000, sha256: 'a'.repeat(64), downloadedBytes: 2, totalBytes: 2, uploadedBytes: 0, fromSeederBytes: 2, fromPeersBytes: 0, downRateBps: 0, upRateBps: 0, wires: 1 }

test('following a daemon that already finished reports its done, and starts nothing', () =>
  withState(async (options, events) => {
    writeFileSync(events, line(progress) + line(done))
    const seen: string[] = []
    await runPeer(options, (event) => seen.push(event.type), true)
    assert.deepEqual(seen, ['done'])
    assert.equal(existsSync(processFiles(options.state, 'peer', 'T').pid), false)
  }))

test('following a daemon that was stopped fails with the reason it wrote', () =>
  withState(async (options, events) => {
    writeFileSync(events, line(progress) + line({ type: 'failed', message: 'the peer daemon was stopped (SIGTERM) before it finished' }))
    await assert.rejects(runPeer(options, () => {}, true), /stopped \(SIGTERM\) before it finished/)
    assert.equal(existsSync(processFiles(options.state, 'peer', 'T').pid), false)
  }))

test('with no daemon and no ending to report, following fails and says how to start one', () =>
  withState(async (options) => {
    await assert.rejects(runPeer(options, () => {}, true), /no peer daemon of T is running or has finished; start one with `peer` \(without --follow\)/)
    assert.equal(existsSync(processFiles(options.state, 'peer', 'T').pid), false)
  }))

test('a running daemon of the same arguments is followed: started, then its events to done', () =>
  withState(async (options, events) => {
    writeFileSync(events, '')
    const stop = startStandIn(options, daemonArguments(options))
    try {
      const seen: string[] = []
      const following = runPeer(options, (event) => seen.push(event.type), true)
      await new Promise((resolve) => setTimeout(resolve, 200))
      appendFileSync(events, line(progress))
      appendFileSync(events, line(done))
      await following
      assert.deepEqual(seen, ['started', 'progress', 'done'])
    } finally {
      stop()
    }
  }))

test('a running daemon with other arguments is not followed', () =>
  withState(async (options) => {
    const stop = startStandIn(options, daemonArguments({ ...options, seederIp: '10.0.0.9' }))
    try {
      await assert.rejects(runPeer(options, () => {}, true), /a peer for T with other arguments is running/)
    } finally {
      stop()
    }
  }))

// `peer --hold` (deploy_via murder): after `done` the command waits for the controller's `stop` on
// stdin, so that ending the swarm starts no process on the host.

function holdWith(options: PeerOptions, input: PassThrough, seen: AgentEvent[]): Promise<void> {
  return holdUntilStopped(options, (event) => seen.push(event), input)
}

function writePayload(options: PeerOptions): void {
  writeFileSync(options.payload, 'payload')
  writeFileSync(options.torrent, 'torrent')
}

test('held: a stop line stops the daemon, removes payload and torrent, and says so', () =>
  withState(async (options) => {
    writePayload(options)
    const stop = startStandIn(options, daemonArguments(options))
    try {
      const record = (await readPidFile(options.state, 'peer', 'T'))?.record
      const input = new PassThrough()
      const seen: AgentEvent[] = []
      const holding = holdWith(options, input, seen)
      input.write('stop\n')
      await holding
      assert.equal(record !== undefined && isRunning(record), false)
      assert.equal(existsSync(options.payload) || existsSync(options.torrent), false)
      assert.equal(seen.length, 1)
      const stopped = seen[0]
      assert.ok(stopped?.type === 'stopped')
      assert.deepEqual(stopped.removed, [options.payload, options.torrent])
      assert.equal(stopped.stopped[0]?.pid, record?.pid)
    } finally {
      stop()
    }
  }))

test('held: the end of stdin leaves the daemon seeding and its files in place', () =>
  withState(async (options) => {
    writePayload(options)
    const stop = startStandIn(options, daemonArguments(options))
    try {
      const input = new PassThrough()
      const seen: AgentEvent[] = []
      const holding = holdWith(options, input, seen)
      input.end()
      await holding
      const file = await readPidFile(options.state, 'peer', 'T')
      assert.equal(file?.isRunning, true)
      assert.equal(existsSync(options.payload) && existsSync(options.torrent), true)
      assert.deepEqual(seen, [])
    } finally {
      stop()
    }
  }))

test('held: a daemon that already ended on its own (seed-seconds) still has its files removed on stop', () =>
  withState(async (options) => {
    writePayload(options)
    const stop = startStandIn(options, daemonArguments(options))
    const input = new PassThrough()
    const seen: AgentEvent[] = []
    const holding = holdWith(options, input, seen)
    stop()
    await new Promise((resolve) => setTimeout(resolve, 200))
    input.write('stop\n')
    await holding
    assert.equal(existsSync(options.payload) || existsSync(options.torrent), false)
    const stopped = seen[0]
    assert.ok(stopped?.type === 'stopped')
    assert.equal(stopped.notRunning, true)
    assert.deepEqual(stopped.removed, [options.payload, options.torrent])
  }))

test('held: any request but stop is refused and the daemon left running', () =>
  withState(async (options) => {
    const stop = startStandIn(options, daemonArguments(options))
    try {
      const input = new PassThrough()
      const holding = holdWith(options, input, [])
      input.write('restart\n')
      await assert.rejects(holding, /peer --hold: unknown request "restart" on stdin; the only ones are "stop" and "unpack"/)
      assert.equal((await readPidFile(options.state, 'peer', 'T'))?.isRunning, true)
    } finally {
      stop()
    }
  }))

test('held: unpack requests are answered, each in turn, before the stop', () =>
  withState(async (options) => {
    const source = join(dirname(options.payload), 'src')
    mkdirSync(source, { recursive: true })
    writeFileSync(join(source, 'index.html'), '<h1>v1</h1>')
    execFileSync('tar', ['-czf', options.payload, '-C', source, '.'])
    writeFileSync(options.torrent, 'torrent')
    const stop = startStandIn(options, daemonArguments(options))
    try {
      const input = new PassThrough()
      const seen: AgentEvent[] = []
      const holding = holdWith(options, input, seen)
      const release = join(dirname(options.payload), 'release')
      input.write(`${formatUnpackRequest({ into: `${release}.incoming`, renameTo: release })}\n`)
      input.write(`${formatUnpackRequest({ into: 'relative' })}\nstop\n`)
      await holding
      assert.deepEqual(seen.map((event) => event.type), ['unpacked', 'unpackFailed', 'stopped'])
      assert.equal(readFileSync(join(release, 'index.html'), 'utf8'), '<h1>v1</h1>')
      assert.equal(existsSync(options.payload), false, 'the payload goes at the stop, after the unpacking')
    } finally {
      stop()
    }
  }))

/** A payload whose unpacking waits, half-way, for `finish()` (helpers/held-back-payload.ts). */
function writeHeldBackPayload(options: PeerOptions): HeldBackPayload {
  writeFileSync(options.torrent, 'torrent')
  return heldBackPayload(options.payload)
}

/** Holds a stand-in daemon's payload, asks for an unpacking, and once it has begun, `cuts` it short; returns what was said. */
async function cutShortUnpacking(options: PeerOptions, cut: (input: PassThrough) => void): Promise<{ seen: AgentEvent[]; isDaemonRunning: boolean }> {
  const stream = writeHeldBackPayload(options)
  const stop = startStandIn(options, daemonArguments(options))
  try {
    const input = new PassThrough()
    const seen: AgentEvent[] = []
    const holding = holdWith(options, input, seen)
    const release = join(dirname(options.payload), 'release')
    const incoming = `${release}.incoming`
    input.write(`${formatUnpackRequest({ into: incoming, renameTo: release })}\n`)
    await untilWritingBegins(incoming)
    cut(input)
    stream.finish()
    await holding
    assert.equal(existsSync(release), false, 'nothing renamed into place')
    assert.deepEqual(readdirSync(incoming), [], 'the target emptied')
    return { seen, isDaemonRunning: (await readPidFile(options.state, 'peer', 'T'))?.isRunning === true }
  } finally {
    stream.finish()
    stop()
  }
}

test('held: a stop that comes while an unpacking runs (the run interrupted) ends it half-way: nothing renamed, the target emptied', () =>
  withState(async (options) => {
    const { seen } = await cutShortUnpacking(options, (input) => input.write('stop\n'))
    assert.deepEqual(seen.map((event) => event.type), ['unpackFailed', 'stopped'])
    assert.match(String((seen[0] as { message: string }).message), /stopped before it finished/)
  }))

test('held: SIGTERM while an unpacking runs ends it half-way, answers, then ends the command by the signal', () =>
  withState(async (options) => {
    const stream = writeHeldBackPayload(options)
    const release = join(dirname(options.payload), 'release')
    const incoming = `${release}.incoming`
    const peer = JSON.stringify({ state: options.state, tag: 'T', payload: options.payload, torrent: options.torrent })
    const script = `import('${join(REPO_ROOT, 'lib/torrent/agent/hold.ts')}').then((hold) => hold.holdUntilStopped(${peer}, (event) => console.log(JSON.stringify(event))))`
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    // 'close', not 'exit': the answer may still be in the pipe when the process has exited.
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)))
    try {
      child.stdin.write(`${formatUnpackRequest({ into: incoming, renameTo: release })}\n`)
      await untilWritingBegins(incoming)
      child.kill('SIGTERM')
      stream.finish()
      const late = new Promise<string>((resolve) => setTimeout(() => resolve('still running 10 s after SIGTERM'), 10_000).unref())
      assert.equal(await Promise.race([closed, late]), 'SIGTERM')
    } finally {
      stream.finish()
      child.kill('SIGKILL')
    }
    assert.match(out, /"type":"unpackFailed".*stopped before it finished/)
    assert.equal(existsSync(release), false, 'nothing renamed into place')
    assert.deepEqual(readdirSync(incoming), [])
  }))

test('held: the end of stdin while an unpacking runs (the controller let the command go) ends it half-way; the daemon seeds on', () =>
  withState(async (options) => {
    const { seen, isDaemonRunning } = await cutShortUnpacking(options, (input) => input.end())
    assert.deepEqual(seen.map((event) => event.type), ['unpackFailed'])
    // Said as a stop, not as the archive cut short that the held-back payload then is.
    assert.match(String((seen[0] as { message: string }).message), /stopped before it finished/)
    assert.equal(isDaemonRunning, true, 'the daemon runs on, as after any end of stdin')
  }))
