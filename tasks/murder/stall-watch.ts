// The controller's watch for a swarm that has stopped moving.
import { DeployError } from '../../lib/index.ts'
import type { MurderOptions } from '../../lib/torrent/murder-options.ts'
import type { SwarmProgress } from '../../lib/torrent/swarm-progress.ts'

const STALL_CHECK_MS = 1000

/**
 * Gives the swarm up once no host has received a byte for swarm_stall_timeout: its source is gone
 * (the seeder stopped before any host held every piece), and without this every download would wait
 * for ever (peer_timeout is 0 by default). The clock starts once the seeder's payload has arrived.
 */
export function watchForStall(options: MurderOptions, progress: SwarmProgress, source: Promise<void>, seederName: string, limitS: number): { failure: Promise<never>; error: () => DeployError | undefined; stop: () => void } {
  let error: DeployError | undefined
  let fail = (_error: DeployError): void => {}
  const failure = new Promise<never>((_resolve, reject) => (fail = reject))
  let hasArrived = false
  source.then(() => {
    hasArrived = true
    progress.restartQuietClock()
  }, () => {})
  const timer = setInterval(() => {
    if (!hasArrived || error || progress.quietMs() < limitS * 1000) return
    error = new DeployError(
      `the swarm of ${options.tag} stalled: no host received a byte for ${limitS} s (${progress.standing()}); check that the seeder ${seederName} still seeds it and run again, or raise swarm_stall_timeout.`,
      { exitCode: 1 }
    )
    fail(error)
  }, STALL_CHECK_MS)
  return { failure, error: () => error, stop: () => clearInterval(timer) }
}
