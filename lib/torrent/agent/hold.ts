// `peer --hold`: once the download is done the command stays, so the controller ends the host's
// part in the swarm by writing to a command it already has open rather than starting a `stop`
// (a Node process per host: about 0.2 CPU-seconds each, 48 of them at the end of a farm deploy).
// A `stop` line on stdin stops the daemon (if it has not ended by --seed-seconds already) and removes
// the payload and torrent; the end of stdin (the controller went away) leaves the daemon seeding on
// for --seed-seconds, as without --hold. This is the hold of a command that follows a daemon
// (`peer --detach` first); one that started no daemon is the daemon itself (foreground-daemon.ts).
import { rm } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import type { AgentEvent } from '../protocol.ts'
import { stopProcesses } from './control.ts'
import { AgentError } from './errors.ts'

export interface HeldPeer {
  state: string
  tag: string
  payload: string
  torrent: string
}

/**
 * Waits for the controller's `stop` on `input`; then stops the daemon, removes its files and emits
 * `stopped`. Bounded by `input`, which ends with the SSH channel at the latest.
 */
export async function holdUntilStopped(peer: HeldPeer, onEvent: (event: AgentEvent) => void, input: Readable = process.stdin): Promise<void> {
  const request = firstLine(input)
  try {
    const line = await request.line
    if (line === undefined) return
    if (line !== 'stop') throw new AgentError(`peer --hold: unknown request ${JSON.stringify(line)} on stdin; the only one is "stop"`)
    const stopped = await stopProcesses(peer.state, 'peer', peer.tag)
    const removed = [peer.payload, peer.torrent]
    await Promise.all(removed.map((path) => rm(path, { force: true })))
    onEvent({ ...stopped, removed })
  } finally {
    request.close()
  }
}

/** The first line of `input` (trimmed), or undefined once it ends without one. */
export function firstLine(input: Readable): { line: Promise<string | undefined>; close: () => void } {
  const lines = createInterface({ input, crlfDelay: Infinity })
  const line = new Promise<string | undefined>((resolve) => {
    lines.once('line', (text) => resolve(text.trim()))
    lines.once('close', () => resolve(undefined))
    // An input whose end was already emitted (read whole by someone else) emits nothing more.
    if (input.readableEnded || input.destroyed) resolve(undefined)
  })
  return {
    line,
    close: () => {
      lines.close()
      input.destroy()
    },
  }
}
