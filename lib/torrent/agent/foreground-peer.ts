// `peer --hold` with no daemon of its tag running: the command is the peer daemon itself instead
// of starting one detached and following it. That saves a Node process per host (its start-up and
// its follower, about 0.2 CPU-seconds) and the daemon's launch before the first byte. It keeps a
// daemon's files (a pid file with its own pid, events, log, stats), so `status`, `stop` and
// `peer --follow` find it as they find a detached one, and it relays the events on stdout.
// After `done` it waits on stdin as hold.ts describes: `stop` ends its part in the swarm and
// removes payload and torrent; stdin's end (the controller went away) leaves it seeding until
// --seed-seconds. SIGTERM (`stop --kind peer`) ends it at once, as it ends a detached daemon.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import type { AgentEvent } from '../protocol.ts'
import { DaemonRuntime, runDaemonBody, tuneTransferDaemon } from './daemon.ts'
import { AgentError } from './errors.ts'
import { firstLine } from './hold.ts'
import { checkTorrent, daemonArguments, matchingDaemon, runPeer, runPeerDaemon, type PeerOptions } from './peer.ts'
import { ownCommandLine, readPidFile, removePidFile } from './processes.ts'
import { formatPidRecord, processFiles, type PidRecord } from './state-files.ts'

interface DaemonEnd {
  code: number
  /** SIGTERM or SIGINT ended it (before it ended by itself). */
  signal?: string | undefined
}

/** Runs `peer --hold`; resolves with the exit code once the command is over. */
export async function runHeldPeer(options: PeerOptions, print: (event: AgentEvent) => void): Promise<number> {
  const existing = await readPidFile(options.state, 'peer', options.tag)
  // A daemon of this transfer already runs (a re-run, or `peer --detach` first): follow it as before.
  if (matchingDaemon(existing, options)) {
    await runPeer(options, print, true, true)
    return 0
  }
  await checkTorrent(options)
  if (existing) await removePidFile(existing.path, existing.record?.pid)
  const record = await claimPidFile(options)
  print({ type: 'started', kind: 'peer', pid: record.pid, tag: options.tag })
  // Once the controller is gone its output goes nowhere: a write must not end the swarm (EPIPE).
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  // Read from the start: an end of stdin before `done` is remembered, not missed.
  const request = firstLine(process.stdin)
  try {
    const daemon = new OwnDaemon(options, print)
    await daemon.runUntilDone()
    return await holdUntilRequest(daemon, await daemon.nextAfterDone(request.line), options, print)
  } finally {
    request.close()
  }
}

/** What comes first after `done`: the controller's line on stdin (undefined: stdin ended), or a signal. */
type NextAfterDone = { line: string | undefined } | { signalled: DaemonEnd }

/** After `done`: what the controller's request (or stdin's end, or a signal) asks of the daemon. */
async function holdUntilRequest(daemon: OwnDaemon, next: NextAfterDone, options: PeerOptions, print: (event: AgentEvent) => void): Promise<number> {
  if ('signalled' in next) return next.signalled.code
  const { line } = next
  if (line === undefined) {
    // The controller went away: seed on for --seed-seconds, as a detached daemon would.
    return (await daemon.ended).code
  }
  // Unlike a follower's hold (hold.ts), the command is the daemon: it cannot refuse and leave the swarm running.
  const wasRunning = await daemon.stop(line === 'stop' ? 'stopped by the controller' : 'an unknown request on stdin')
  if (line !== 'stop') throw new AgentError(`peer --hold: unknown request ${JSON.stringify(line)} on stdin; the only one is "stop"`)
  const removed = [options.payload, options.torrent]
  await Promise.all(removed.map((path) => rm(path, { force: true })))
  const stopped = wasRunning ? [{ kind: 'peer' as const, tag: options.tag, pid: process.pid }] : []
  print({ type: 'stopped', stopped, stale: [], notRunning: !wasRunning, removed })
  return 0
}

/** This process as the peer daemon (peer.ts's runPeerDaemon), its events relayed to `print`. */
class OwnDaemon {
  private failure: string | undefined
  private end: DaemonEnd | undefined
  private readonly runtime: DaemonRuntime
  private readonly done: Promise<void>
  readonly ended: Promise<DaemonEnd>
  /** SIGTERM or SIGINT, also after the swarm ended by --seed-seconds (the runtime then ignores them). */
  private readonly signalled: Promise<void>

  constructor(
    private readonly options: PeerOptions,
    print: (event: AgentEvent) => void
  ) {
    let markDone = () => {}
    this.done = new Promise<void>((resolve) => (markDone = resolve))
    let markEnded = (_end: DaemonEnd) => {}
    this.ended = new Promise<DaemonEnd>((resolve) => (markEnded = resolve))
    this.runtime = new DaemonRuntime(options.state, 'peer', options.tag, {
      onEvent: (event) => {
        if (event.type === 'failed') this.failure = event.message
        print(event)
        if (event.type === 'done') markDone()
      },
      onEnd: (code, signal) => {
        this.end = { code, signal }
        markEnded(this.end)
      },
    })
    this.signalled = new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve())
      process.once('SIGINT', () => resolve())
    })
  }

  /** Downloads and verifies the payload; throws the reason if the daemon ends first. */
  async runUntilDone(): Promise<void> {
    tuneTransferDaemon()
    // Not awaited alone: a body that throws ends the runtime (`ended`), and its fail() never returns.
    const running = runDaemonBody(this.runtime, (runtime) => runPeerDaemon(runtime, this.options))
    const end = await Promise.race([running.then(() => this.done).then(() => undefined), this.ended])
    if (end !== undefined) throw new AgentError(this.failure ?? `the peer stopped (${end.signal ?? `exit ${end.code}`}) before its download finished`)
  }

  /** The controller's line, or a signal's end of the daemon if that comes first. */
  nextAfterDone(line: Promise<string | undefined>): Promise<NextAfterDone> {
    return Promise.race([line.then((text) => ({ line: text })), this.signalled.then(() => this.ended).then((end) => ({ signalled: end }))])
  }

  /** Ends the swarm unless it has ended; says whether it was still running. */
  async stop(reason: string): Promise<boolean> {
    const wasRunning = this.end === undefined
    if (wasRunning) void this.runtime.exit(0, reason)
    await this.ended
    return wasRunning
  }
}

/** The pid file, naming this process; fails if another start won it meanwhile. */
async function claimPidFile(options: PeerOptions): Promise<PidRecord> {
  const record: PidRecord = { pid: process.pid, kind: 'peer', tag: options.tag, argv: ownCommandLine(), daemonArgs: daemonArguments(options), startedAt: new Date().toISOString() }
  const files = processFiles(options.state, 'peer', options.tag)
  await mkdir(options.state, { recursive: true })
  // A follower (`peer --follow`) reads this file from its start: an earlier run's events must go.
  await writeFile(files.events, '')
  try {
    await writeFile(files.pid, formatPidRecord(record), { flag: 'wx' })
  } catch (error) {
    throw new AgentError(`another peer of ${options.tag} was started at the same time (${files.pid} exists): ${(error as Error).message}`)
  }
  return record
}
