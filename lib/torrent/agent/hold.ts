// `peer --hold`: once the download is done the command stays, so the controller ends the host's
// part in the swarm by writing to a command it already has open rather than starting a `stop`
// (a Node process per host: about 0.2 CPU-seconds each, 48 of them at the end of a farm deploy).
// A `stop` line on stdin stops the daemon and removes the payload and torrent; the end of stdin
// (the controller went away) leaves the daemon seeding on for --seed-seconds, as without --hold.
import { rm } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { setTimeout as wait } from 'node:timers/promises'
import type { AgentEvent } from '../protocol.ts'
import { stopProcesses } from './control.ts'
import { AgentError } from './errors.ts'
import { isRunning } from './processes.ts'
import type { PidRecord } from './state-files.ts'

/** How often a held command checks its daemon still runs (it may end by --seed-seconds or a `stop`). */
const DAEMON_CHECK_MS = 1000

export interface HeldPeer {
  state: string
  tag: string
  payload: string
  torrent: string
}

/** Waits for `stop` on `input` while the daemon runs; on `stop`, stops it, removes its files and emits `stopped`. */
export async function holdUntilStopped(peer: HeldPeer, daemon: PidRecord, onEvent: (event: AgentEvent) => void, input: Readable = process.stdin): Promise<void> {
  const request = firstLine(input)
  try {
    // Bounded by the daemon, which ends after --seed-seconds at the latest.
    for (;;) {
      const next = await Promise.race([request.line, wait(DAEMON_CHECK_MS, 'check' as const)])
      if (next === 'check') {
        if (!isRunning(daemon)) return
        continue
      }
      if (next === undefined) return
      if (next !== 'stop') throw new AgentError(`peer --hold: unknown request ${JSON.stringify(next)} on stdin; the only one is "stop"`)
      const stopped = await stopProcesses(peer.state, 'peer', peer.tag)
      const removed = [peer.payload, peer.torrent]
      await Promise.all(removed.map((path) => rm(path, { force: true })))
      onEvent({ ...stopped, removed })
      return
    }
  } finally {
    request.close()
  }
}

/** The first line of `input` (trimmed), or undefined once it ends without one. */
function firstLine(input: Readable): { line: Promise<string | undefined>; close: () => void } {
  const lines = createInterface({ input, crlfDelay: Infinity })
  const line = new Promise<string | undefined>((resolve) => {
    lines.once('line', (text) => resolve(text.trim()))
    lines.once('close', () => resolve(undefined))
  })
  return {
    line,
    close: () => {
      lines.close()
      input.destroy()
    },
  }
}
