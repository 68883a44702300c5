// Daemons: the foreground command starts `node AGENT daemon KIND …` detached (its own session, so an
// SSH hang-up does not reach it), records it in a pid file, and follows the events it appends to
// its events file (follow-events.ts). The daemon logs to its log file and removes its pid file when it ends.
import { spawn } from 'node:child_process'
import { appendFileSync, openSync, closeSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { AGENT_VERSION, formatEvent, TRANSFER_NODE_FLAGS, withTransferTunables, type AgentEvent, type ProcessKind } from '../protocol.ts'
import { AgentError } from './errors.ts'
import { readPidFile, removePidFile, stopDaemon, waitForExit, type PidFile } from './processes.ts'
import { formatPidRecord, processFiles, type PidRecord } from './state-files.ts'
import { pruneFinishedTransfers } from './finished-transfers.ts'
import { followEvents, type FollowEnd } from './follow-events.ts'

const SHUTDOWN_LIMIT_MS = 4000

export interface DaemonLaunch {
  state: string
  kind: ProcessKind
  tag?: string
  /** The daemon's own options, after `daemon KIND`. */
  args: string[]
  /** Recorded in the pid file: the torrent a transfer's daemon serves. */
  infoHash?: string
}

/** Starts the daemon and writes its pid file; fails if another start won the pid file. */
export async function launchDaemon(launch: DaemonLaunch): Promise<PidRecord> {
  const files = processFiles(launch.state, launch.kind, launch.tag)
  await mkdir(launch.state, { recursive: true })
  await writeFile(files.events, '')
  const script = process.argv[1]
  if (script === undefined) throw new AgentError('cannot find the agent script path (process.argv[1])')
  const v8Flags = launch.kind === 'tracker' ? [] : TRANSFER_NODE_FLAGS
  const argv = [...process.execArgv, ...v8Flags, script, 'daemon', launch.kind, ...launch.args]
  const log = openSync(files.log, 'a')
  let pid: number
  try {
    const env = launch.kind === 'tracker' ? process.env : { ...process.env, GLIBC_TUNABLES: withTransferTunables(process.env['GLIBC_TUNABLES']) }
    const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', log, log], cwd: launch.state, env })
    pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? 0))
      child.once('error', (error) => reject(new AgentError(`cannot start the ${launch.kind} daemon: ${error.message}`)))
    })
    child.unref()
  } finally {
    closeSync(log)
  }
  const record: PidRecord = { pid, kind: launch.kind, ...(launch.tag === undefined ? {} : { tag: launch.tag }), argv, daemonArgs: launch.args, ...(launch.infoHash === undefined ? {} : { infoHash: launch.infoHash }), startedAt: new Date().toISOString() }
  try {
    await writeFile(files.pid, formatPidRecord(record), { flag: 'wx' })
  } catch (error) {
    process.kill(pid, 'SIGKILL')
    throw new AgentError(`another ${launch.kind} daemon was started at the same time (${files.pid} exists): ${(error as Error).message}`)
  }
  if (launch.kind !== 'tracker') await pruneFinishedTransfers(launch.state, launch.kind)
  return record
}

/**
 * A daemon run by its own foreground command (`--hold`, foreground-daemon.ts) rather than started
 * detached: it also hands each event to the command, and its end returns to the command instead of
 * ending the process.
 */
export interface ForegroundHooks {
  onEvent: (event: AgentEvent) => void
  /** `signal` when SIGTERM or SIGINT ended it. */
  onEnd: (code: number, signal?: string) => void
}

/** The daemon's side: its events file, its log, and a bounded, single shutdown. */
export class DaemonRuntime {
  private isShuttingDown = false
  /** A `started`, `done` or `failed` event was written. */
  private hasConcluded = false
  private stopHandler: () => Promise<void> = async () => {}
  /**
   * A count that grows while the daemon's work goes on (a seeder's bytes sent, a tracker's
   * announces): a held one whose controller went away ends once it stops growing.
   */
  activity: () => number = () => 0

  constructor(
    private readonly state: string,
    readonly kind: ProcessKind,
    readonly tag?: string,
    private readonly foreground?: ForegroundHooks
  ) {
    process.on('SIGTERM', () => void this.stopBySignal('SIGTERM'))
    process.on('SIGINT', () => void this.stopBySignal('SIGINT'))
    process.on('SIGHUP', () => this.log('ignoring SIGHUP'))
  }

  get files() {
    return processFiles(this.state, this.kind, this.tag)
  }

  emit(event: AgentEvent): void {
    if (event.type === 'started' || event.type === 'done' || event.type === 'failed') this.hasConcluded = true
    appendFileSync(this.files.events, `${formatEvent(event)}\n`)
    this.foreground?.onEvent(event)
  }

  log(message: string): void {
    const line = `${new Date().toISOString()} ${this.kind}${this.tag ? ` ${this.tag}` : ''} [${process.pid}]: ${message}\n`
    // A detached daemon's stdout is its log file; a foreground one's stdout carries its events.
    if (this.foreground) appendFileSync(this.files.log, line)
    else process.stdout.write(line)
  }

  /** What to close on the way out (clients, servers, final stats); bounded by SHUTDOWN_LIMIT_MS. */
  onStop(handler: () => Promise<void>): void {
    this.stopHandler = handler
  }

  /** A follower waiting for `started` or `done` learns why they will not come. */
  private async stopBySignal(signal: string): Promise<never> {
    if (!this.hasConcluded && !this.isShuttingDown) this.emit({ type: 'failed', message: `the ${this.kind} daemon was stopped (${signal}) before it finished` })
    return this.exit(0, signal, signal)
  }

  /** Emits `failed`, then exits 1. */
  async fail(message: string): Promise<never> {
    this.emit({ type: 'failed', message })
    return this.exit(1, message)
  }

  /** Stops the daemon's work and ends the process (a foreground daemon: returns to its command). Never resolves. */
  async exit(code: number, reason: string, signal?: string): Promise<never> {
    if (!this.isShuttingDown) {
      this.isShuttingDown = true
      this.log(`stopping (${reason})`)
      const limit = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_LIMIT_MS).unref())
      await Promise.race([this.stopHandler().catch((error: unknown) => this.log(`error while stopping: ${String(error)}`)), limit])
      await removePidFile(this.files.pid, process.pid)
      this.log(`stopped, exit ${code} (${describeCpuUse()})`)
      if (this.foreground) this.foreground.onEnd(code, signal)
      else process.exit(code)
    }
    return new Promise<never>(() => {})
  }
}

/**
 * Runs a daemon's body: an error it throws, or one nothing caught later, ends it with `failed`
 * (the tracker outlives a bad request: it only logs).
 */
export async function runDaemonBody(runtime: DaemonRuntime, body: (runtime: DaemonRuntime) => Promise<void>): Promise<void> {
  const onCrash = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    runtime.log(`unexpected error: ${error instanceof Error ? (error.stack ?? message) : message}`)
    // A transfer in an unknown state must not report success.
    if (runtime.kind !== 'tracker') void runtime.fail(`the ${runtime.kind} daemon hit an unexpected error: ${message}`)
  }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  runtime.log(`starting (agent ${AGENT_VERSION}, node ${process.versions.node}; ${describeCpuUse()})`)
  try {
    await body(runtime)
  } catch (error) {
    await runtime.fail(error instanceof Error ? error.message : String(error))
  }
}

/** The process's CPU time and peak memory so far, for the log: what a daemon costs its host. */
function describeCpuUse(): string {
  const { userCPUTime, systemCPUTime, maxRSS } = process.resourceUsage()
  return `CPU ${((userCPUTime + systemCPUTime) / 1e6).toFixed(3)} s, peak RSS ${Math.round(maxRSS / 1024)} MiB`
}

/** Refuses to start a second daemon of a kind and tag; clears a stale pid file. */
export async function ensureNotRunning(state: string, kind: ProcessKind, tag: string | undefined, what: string): Promise<void> {
  const running = await runningPidFile(state, kind, tag)
  if (running) throw alreadyRunning(running.ref.pid, kind, tag, what)
}

/**
 * The daemon of this kind and tag already running with these arguments, which a second start
 * leaves be (as starting a running service does); one running with other arguments is an error.
 * Clears a stale pid file.
 */
export async function runningTwin(state: string, kind: ProcessKind, tag: string | undefined, args: readonly string[], what: string): Promise<PidRecord | undefined> {
  const running = await runningPidFile(state, kind, tag)
  if (!running) return undefined
  if (running.record && hasArguments(running.record, args)) return running.record
  throw alreadyRunning(running.ref.pid, kind, tag, running.record ? `${what} with other settings` : what)
}

/** The pid file of a daemon of this kind and tag that runs; a stale one is removed. */
export async function runningPidFile(state: string, kind: ProcessKind, tag: string | undefined): Promise<PidFile | undefined> {
  const existing = await readPidFile(state, kind, tag)
  if (existing?.isRunning) return existing
  if (existing) await removePidFile(existing.path, existing.record?.pid)
  return undefined
}

/** Whether a pid file's daemon was started with these arguments (an older agent's: its argv ends with them). */
export function hasArguments(record: PidRecord, args: readonly string[]): boolean {
  const running = record.daemonArgs ?? record.argv.slice(-args.length)
  return running.length === args.length && running.every((word, index) => word === args[index])
}

function alreadyRunning(pid: number, kind: ProcessKind, tag: string | undefined, what: string): AgentError {
  const task = kind === 'tracker' ? 'murder:stop_tracker' : `murder:${kind === 'seed' ? 'stop_seeding' : 'stop_peering'} tag=${tag ?? ''}`
  return new AgentError(`${what} already running (pid ${pid}); stop it first (deploy STAGE ${task}, or agent stop --kind ${kind}${tag ? ` --tag ${tag}` : ''}).`)
}

/** Starts a daemon and waits for its `started` (or `failed`) event. */
export async function startDaemonAndWait(launch: DaemonLaunch, silenceLimitMs: number): Promise<Extract<AgentEvent, { type: 'started' }>> {
  const files = processFiles(launch.state, launch.kind, launch.tag)
  const record = await launchDaemon(launch)
  let outcome: AgentEvent | undefined
  const end = await followEvents(files.events, {
    record,
    silenceLimitMs,
    onEvent: (event) => {
      if (event.type !== 'started' && event.type !== 'failed') return false
      outcome = event
      return true
    },
  })
  if (outcome?.type === 'started') return outcome
  // Return only once the daemon is gone, so that a failed start leaves nothing behind.
  if (end === 'silent' || !(await waitForExit(record, SHUTDOWN_LIMIT_MS + 1000))) await stopDaemon({ path: files.pid, ref: record, record, isRunning: true })
  await removePidFile(files.pid, record.pid)
  if (outcome?.type === 'failed') throw new AgentError(outcome.message)
  throw new AgentError(describeLostDaemon(launch.kind, end, silenceLimitMs, await lastLogLine(files.log), files.log))
}

export function describeLostDaemon(kind: ProcessKind, end: FollowEnd, silenceLimitMs: number, lastLine: string, log: string): string {
  const what = end === 'silent' ? `sent nothing for ${Math.round(silenceLimitMs / 1000)} s and was stopped` : 'exited unexpectedly'
  return `the ${kind} daemon ${what}${lastLine ? ` (last log line: ${lastLine})` : ''}; see ${log}`
}

export async function lastLogLine(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '')
  return (
    text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .at(-1)
      ?.trim() ?? ''
  )
}
