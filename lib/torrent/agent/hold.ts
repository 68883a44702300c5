// `peer --hold`: once the download is done the command stays, so the controller ends the host's
// part in the swarm by writing to a command it already has open rather than starting a `stop`
// (a Node process per host: about 0.2 CPU-seconds each, 48 of them at the end of a farm deploy).
// A `stop` line on stdin stops the daemon (if it has not ended by --seed-seconds already) and removes
// the payload and torrent; the end of stdin (the controller went away) leaves the daemon seeding on
// for --seed-seconds, as without --hold. Before `stop`, the controller may ask it to unpack the
// payload (unpack-request.ts); a `stop` or a signal (SIGTERM, SIGINT) during an unpacking ends it
// half-way, the target emptied and nothing renamed. This is the hold of a command that follows a
// daemon (`peer --detach` first); one that started no daemon is the daemon itself (foreground-daemon.ts).
import { rm } from 'node:fs/promises'
import { constants } from 'node:os'
import type { Readable } from 'node:stream'
import { isUnpackRequest, type AgentEvent } from '../protocol.ts'
import { stopProcesses } from './control.ts'
import { requestLines } from './request-lines.ts'
import { answerUnlessStopped, unknownRequest } from './unpack-request.ts'

export interface HeldPeer {
  state: string
  tag: string
  payload: string
  torrent: string
}

/**
 * Waits for the controller's `stop` on `input`, answering unpack requests before it; then stops the
 * daemon, removes its files and emits `stopped`. Bounded by `input`, which ends with the SSH channel
 * at the latest.
 */
export async function holdUntilStopped(peer: HeldPeer, onEvent: (event: AgentEvent) => void, input: Readable = process.stdin): Promise<void> {
  const requests = requestLines(input)
  try {
    let next = requests.next()
    for (;;) {
      const line = await next
      if (line === undefined) return
      if (isUnpackRequest(line)) {
        const signals = abortOnSignals()
        const answered = await answerUnlessStopped(peer.payload, line, requests, signals.signal)
        onEvent(answered.answer)
        await signals.endAndRaise()
        next = answered.next
        continue
      }
      if (line !== 'stop') throw unknownRequest('peer', line)
      const stopped = await stopProcesses(peer.state, 'peer', peer.tag)
      const removed = [peer.payload, peer.torrent]
      await Promise.all(removed.map((path) => rm(path, { force: true })))
      onEvent({ ...stopped, removed })
      return
    }
  } finally {
    requests.close()
  }
}

/**
 * SIGTERM or SIGINT while this command unpacks (killed by hand, or its SSH channel's TERM) aborts
 * the unpacking; once its answer has left, the signal ends the command as it would have at once.
 */
function abortOnSignals(): { signal: AbortSignal; endAndRaise: () => Promise<void> } {
  const aborting = new AbortController()
  let received: NodeJS.Signals | undefined
  const onSignal = (name: NodeJS.Signals) => {
    received ??= name
    aborting.abort()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return {
    signal: aborting.signal,
    endAndRaise: async () => {
      process.removeListener('SIGTERM', onSignal)
      process.removeListener('SIGINT', onSignal)
      if (!received) return
      // Raised once stdout has taken the answer; another listener of the signal would swallow it.
      await new Promise<void>((resolve) => process.stdout.write('', () => resolve()))
      if (process.listenerCount(received) > 0) process.exit(128 + constants.signals[received])
      process.kill(process.pid, received)
    },
  }
}
