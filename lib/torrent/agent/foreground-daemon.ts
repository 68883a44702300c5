// A daemon run by its own command (`peer --hold`, `seed --hold`, `tracker --hold`) instead of started
// detached and followed: one Node process on the host instead of two, and no `stop` process at the
// end (each a Node start-up, 0.1-0.3 CPU-seconds, and for the seeder and tracker a step every host
// of a deploy waits on). It keeps a daemon's files (a pid file with its own pid, events, log, stats),
// so `status`, `stop` and `peer --follow` find it as they find a detached one, and it relays the
// events on stdout. Once ready (a peer: `done`; a seeder or tracker: `started`) it waits on stdin as
// hold.ts describes: a peer or seeder answers `unpack` requests in this same process
// (unpack-request.ts), so a host extracts its release with no process of its own; `stop` ends it
// and removes its files; stdin's end (the controller went away) leaves it running as a detached
// daemon would run: a peer seeds on for --seed-seconds, a seeder or tracker runs until `stop
// --kind`. SIGTERM (`stop --kind`) ends it at once, as it ends a detached one, and stops an unpacking.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { isUnpackRequest, type AgentEvent, type ProcessKind } from '../protocol.ts'
import { DaemonRuntime, runDaemonBody } from './daemon.ts'
import { tuneTransferDaemon } from './transfer-tuning.ts'
import { AgentError } from './errors.ts'
import { requestLines, type RequestLines } from './request-lines.ts'
import { ownCommandLine } from './processes.ts'
import { formatPidRecord, processFiles, type PidRecord } from './state-files.ts'
import { pruneFinishedTransfers } from './finished-transfers.ts'
import { answerUnlessStopped, unknownRequest } from './unpack-request.ts'
import { watchIdle } from './idle-watch.ts'

export interface ForegroundDaemon {
  state: string
  kind: ProcessKind
  tag?: string | undefined
  /** The daemon's own options, recorded in its pid file (`peer --follow` matches them). */
  daemonArgs: string[]
  /** Recorded in the pid file: the torrent a transfer's daemon serves. */
  infoHash?: string
  /** The event after which the daemon waits for the controller's request. */
  readyOn: 'done' | 'started'
  /** A seeder or peer: tuned for transfers before webtorrent loads. */
  isTransfer: boolean
  /** It fails unless ready within this long (a seeder or tracker, as when started detached); a peer has its own --timeout-s. */
  readyLimitMs?: number
  body: (runtime: DaemonRuntime) => Promise<void>
  /** Removed once stopped on request (a transfer's payload and torrent). */
  removeOnStop: string[]
  /** The file a seeder or peer holds, which an `unpack` request puts into a directory; a tracker has none. */
  payload?: string
  /** Printed once the pid file names this process (a peer's `started`: from here a `stop` finds it). */
  onClaimed?: (record: PidRecord) => AgentEvent
  /** A seeder or tracker: once stdin ends before a `stop` (the controller is gone), it ends after `limitMs` without activity (OwnDaemon.endWhenIdle); 0: never. */
  orphan?: { limitMs: number; idleMeans: string }
}

const KIND_NAMES: Record<ProcessKind, string> = { tracker: 'tracker', seed: 'seeder', peer: 'peer' }

interface DaemonEnd {
  code: number
  /** SIGTERM or SIGINT ended it (before it ended by itself). */
  signal?: string | undefined
}

/** Runs the daemon in this process; resolves with the exit code once the command is over. */
export async function runForegroundDaemon(daemon: ForegroundDaemon, print: (event: AgentEvent) => void): Promise<number> {
  const record = await claimPidFile(daemon)
  if (daemon.onClaimed) print(daemon.onClaimed(record))
  // Once the controller is gone its output goes nowhere: a write must not end the daemon (EPIPE).
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  // Read from the start: an end of stdin before the daemon is ready is remembered, not missed.
  const requests = requestLines(process.stdin)
  const own = new OwnDaemon(daemon, print)
  const { orphan } = daemon
  if (orphan) void requests.ended.then(() => own.endWhenIdle(orphan.limitMs, orphan.idleMeans))
  try {
    await own.runUntilReady()
    return await holdUntilStop(own, requests, daemon, print)
  } finally {
    requests.close()
    // Nobody is left to use or remove them: a partial download, a release tgz.
    if (own.hasEndedIdle) await Promise.all(daemon.removeOnStop.map((path) => rm(path, { force: true })))
  }
}

/** What comes first once ready: the controller's line on stdin (undefined: stdin ended), or a signal. */
type NextAfterReady = { line: string | undefined } | { signalled: DaemonEnd }

/** Once ready: answers unpack requests until the controller's `stop` (or stdin's end, or a signal). */
async function holdUntilStop(own: OwnDaemon, requests: RequestLines, daemon: ForegroundDaemon, print: (event: AgentEvent) => void): Promise<number> {
  // A signal (`stop --kind`, murder:stop_peering) stops an unpacking half-way too, rather than after it.
  const stopping = new AbortController()
  void own.signalled.then(() => stopping.abort())
  let next = requests.next()
  for (;;) {
    const step = await own.nextAfterReady(next)
    if ('signalled' in step) return step.signalled.code
    const { line } = step
    // The controller went away: run on as a detached daemon would.
    if (line === undefined) return (await own.ended).code
    if (isUnpackRequest(line)) {
      // A `stop` that comes meanwhile ends the unpacking half-way too.
      const answered = await answerUnlessStopped(daemon.payload, line, requests, stopping.signal)
      print(answered.answer)
      next = answered.next
      continue
    }
    // Unlike a follower's hold (hold.ts), the command is the daemon: it cannot refuse and leave it running.
    const wasRunning = await own.stop(line === 'stop' ? 'stopped by the controller' : 'an unknown request on stdin')
    if (line !== 'stop') throw unknownRequest(daemon.kind, line)
    const removed = daemon.removeOnStop
    await Promise.all(removed.map((path) => rm(path, { force: true })))
    const ref = { kind: daemon.kind, pid: process.pid, ...(daemon.tag === undefined ? {} : { tag: daemon.tag }) }
    print({ type: 'stopped', stopped: wasRunning ? [ref] : [], stale: [], notRunning: !wasRunning, removed })
    return 0
  }
}

/** This process as the daemon, its events relayed to `print`. */
class OwnDaemon {
  private failure: string | undefined
  private end: DaemonEnd | undefined
  private isReady = false
  /** endWhenIdle ended it. */
  hasEndedIdle = false
  private readonly runtime: DaemonRuntime
  private readonly ready: Promise<void>
  readonly ended: Promise<DaemonEnd>
  /** SIGTERM or SIGINT, also after the daemon ended by itself (a peer's --seed-seconds; the runtime then ignores them). */
  readonly signalled: Promise<void>

  constructor(
    private readonly daemon: ForegroundDaemon,
    print: (event: AgentEvent) => void
  ) {
    let markReady = () => {}
    this.ready = new Promise<void>((resolve) => (markReady = resolve))
    void this.ready.then(() => (this.isReady = true))
    let markEnded = (_end: DaemonEnd) => {}
    this.ended = new Promise<DaemonEnd>((resolve) => (markEnded = resolve))
    this.runtime = new DaemonRuntime(daemon.state, daemon.kind, daemon.tag, {
      onEvent: (event) => {
        if (event.type === 'failed') this.failure = event.message
        print(event)
        if (event.type === daemon.readyOn) markReady()
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

  /** Runs the daemon until it is ready; throws the reason if it ends first. */
  async runUntilReady(): Promise<void> {
    if (this.daemon.isTransfer) tuneTransferDaemon()
    const { readyLimitMs } = this.daemon
    const name = KIND_NAMES[this.daemon.kind]
    const failLate = () => void this.runtime.fail(`the ${name} was not ready within ${(readyLimitMs ?? 0) / 1000} s; see ${this.runtime.files.log}`)
    const limit = readyLimitMs === undefined ? undefined : setTimeout(failLate, readyLimitMs)
    try {
      // Not awaited alone: a body that throws ends the runtime (`ended`), and its fail() never returns.
      const running = runDaemonBody(this.runtime, this.daemon.body)
      const end = await Promise.race([running.then(() => this.ready).then(() => undefined), this.ended])
      if (end === undefined) return
      const what = this.daemon.readyOn === 'done' ? 'its download finished' : 'it started'
      throw new AgentError(this.failure ?? `the ${name} stopped (${end.signal ?? `exit ${end.code}`}) before ${what}`)
    } finally {
      clearTimeout(limit)
    }
  }

  /** The controller's line, or a signal's end of the daemon if that comes first. */
  nextAfterReady(line: Promise<string | undefined>): Promise<NextAfterReady> {
    return Promise.race([line.then((text) => ({ line: text })), this.signalled.then(() => this.ended).then((end) => ({ signalled: end }))])
  }

  /**
   * The controller went away (stdin ended) before a `stop`: with nobody to stop it, a seeder or
   * tracker ends once its activity stops growing for `limitMs`; until then it runs on, as a detached
   * one would, serving peers that may still finish. Without this a killed controller's seeder and
   * tracker ran until someone stopped them. (A peer has its own --stall-s, controller or not.)
   */
  endWhenIdle(limitMs: number, idleMeans: string): void {
    if (limitMs <= 0 || this.end) return
    const watch = watchIdle(() => this.runtime.activity(), limitMs, () => {
      this.hasEndedIdle = true
      const reason = `its controller went away and ${idleMeans} for ${limitMs / 1000} s`
      void (this.isReady ? this.runtime.exit(0, reason) : this.runtime.fail(`the ${KIND_NAMES[this.daemon.kind]} gave up: ${reason}`))
    })
    void this.ended.then(() => watch.stop())
  }

  /** Ends the daemon unless it has ended; says whether it was still running. */
  async stop(reason: string): Promise<boolean> {
    const wasRunning = this.end === undefined
    if (wasRunning) void this.runtime.exit(0, reason)
    await this.ended
    return wasRunning
  }
}

/** The pid file, naming this process; fails if another start won it meanwhile. */
async function claimPidFile(daemon: ForegroundDaemon): Promise<PidRecord> {
  const record: PidRecord = {
    pid: process.pid,
    kind: daemon.kind,
    ...(daemon.tag === undefined ? {} : { tag: daemon.tag }),
    argv: ownCommandLine(),
    daemonArgs: daemon.daemonArgs,
    ...(daemon.infoHash === undefined ? {} : { infoHash: daemon.infoHash }),
    startedAt: new Date().toISOString(),
  }
  const files = processFiles(daemon.state, daemon.kind, daemon.tag)
  await mkdir(daemon.state, { recursive: true })
  // A follower (`peer --follow`) reads this file from its start: an earlier run's events must go.
  await writeFile(files.events, '')
  try {
    await writeFile(files.pid, formatPidRecord(record), { flag: 'wx' })
  } catch (error) {
    const what = daemon.tag === undefined ? `another ${daemon.kind}` : `another ${daemon.kind} of ${daemon.tag}`
    throw new AgentError(`${what} was started at the same time (${files.pid} exists): ${(error as Error).message}`)
  }
  if (daemon.kind !== 'tracker') void pruneFinishedTransfers(daemon.state, daemon.kind)
  return record
}
