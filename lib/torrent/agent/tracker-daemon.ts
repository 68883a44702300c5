// `tracker`: starts the tracker daemon and returns once it listens; `tracker --hold` is the tracker.
import type { AgentEvent } from '../protocol.ts'
import { runningPidFile, runningTwin, startDaemonAndWait, type DaemonRuntime } from './daemon.ts'
import { runForegroundDaemon } from './foreground-daemon.ts'
import { whitelistDirectory } from './state-files.ts'
import { loadTracker } from './lazy-modules.ts'

const READY_LIMIT_MS = 15_000

export interface TrackerOptions {
  state: string
  port: number
  host: string
  announceIntervalS: number
}

/** Starts the tracker daemon; one already running with these options is left be (`wasRunning`). */
export async function startTracker(options: TrackerOptions): Promise<Extract<AgentEvent, { type: 'started' }>> {
  const args = daemonArguments(options)
  const twin = await runningTwin(options.state, 'tracker', undefined, args, 'tracker')
  if (twin) return { type: 'started', kind: 'tracker', pid: twin.pid, port: options.port, wasRunning: true }
  return startDaemonAndWait({ state: options.state, kind: 'tracker', args }, READY_LIMIT_MS)
}

/**
 * `tracker --hold`: the command is the tracker (foreground-daemon.ts), `started` once it listens,
 * until the controller's `stop` on stdin. If a tracker already runs here the command leaves it be
 * and ends at once without `started`: whoever started that one stops it.
 */
export async function runHeldTracker(options: TrackerOptions, orphanIdleS: number, print: (event: AgentEvent) => void): Promise<number> {
  if (await runningPidFile(options.state, 'tracker', undefined)) return 0
  return runForegroundDaemon(
    {
      state: options.state,
      kind: 'tracker',
      daemonArgs: daemonArguments(options),
      readyOn: 'started',
      isTransfer: false,
      body: (runtime) => runTrackerDaemon(runtime, options),
      removeOnStop: [],
      readyLimitMs: READY_LIMIT_MS,
      // Peers announce only every --announce-interval-s: a shorter wait would end it under them.
      orphan: { limitMs: orphanIdleS > 0 ? Math.max(orphanIdleS, 3 * options.announceIntervalS) * 1000 : 0, idleMeans: 'no client announced' },
    },
    print
  )
}

function daemonArguments(options: TrackerOptions): string[] {
  return ['--state', options.state, '--port', String(options.port), '--host', options.host, '--announce-interval-s', String(options.announceIntervalS)]
}

export async function runTrackerDaemon(runtime: DaemonRuntime, options: TrackerOptions): Promise<void> {
  const { MurderTracker } = await loadTracker()
  const tracker = new MurderTracker({ intervalMs: options.announceIntervalS * 1000, whitelistDirectory: whitelistDirectory(options.state) })
  let isListening = false
  tracker.on('error', (error: NodeJS.ErrnoException) => {
    if (isListening) return runtime.log(`error: ${error.message}`)
    const reason =
      error.code === 'EADDRINUSE'
        ? `port ${options.port} on ${options.host} is already in use; stop what listens there or set tracker_port to a free port.`
        : `cannot listen on ${options.host}:${options.port}: ${error.message}`
    void runtime.fail(reason)
  })
  // A malformed announce is the client's problem: log it, answer it, keep serving.
  tracker.on('warning', (error: Error) => runtime.log(`refused an announce: ${error.message}`))
  for (const event of ['start', 'complete', 'stop'] as const) {
    tracker.on(event, (address: string, params: { info_hash?: string }) => runtime.log(`${event} ${address} ${params.info_hash ?? ''}`))
  }
  let announces = 0
  for (const event of ['start', 'update', 'complete', 'stop'] as const) tracker.on(event, () => (announces += 1))
  runtime.activity = () => announces
  runtime.onStop(
    () =>
      new Promise<void>((resolve) => {
        tracker.close(() => resolve())
        tracker.http?.closeAllConnections()
      })
  )
  tracker.listen(options.port, options.host, () => {
    isListening = true
    runtime.log(`listening on ${options.host}:${options.port}`)
    runtime.emit({ type: 'started', kind: 'tracker', pid: process.pid, port: options.port })
  })
}
