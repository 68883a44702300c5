// A peer or seeder must not wait forever on a tracker that is down or refuses the torrent: the
// first announce either succeeds within a bound or becomes one clear error.
import type { Torrent } from 'webtorrent'

export const FIRST_ANNOUNCE_LIMIT_MS = 60_000
/** After an announce that timed out or found no route, the next try; bittorrent-tracker waits 30 min. */
const RETRY_AFTER_MS = 2000

/**
 * Resolves on the first answered announce; rejects with a one-line reason otherwise. A refused
 * connection or a refused torrent fails at once (no tracker, or not made by create_torrent); a
 * timeout or a missing route is retried until the limit: at the start of a deploy to 100 hosts on
 * one machine, the seeder's host (where the tracker runs) was busy enough for a connect to time out.
 */
export function waitForFirstAnnounce(torrent: Torrent, announceUrl: string, limitMs = FIRST_ANNOUNCE_LIMIT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const tracker = torrent.discovery?.tracker
    if (!tracker) return reject(new Error(`no tracker client for ${announceUrl}`))
    let lastProblem = `no answer within ${Math.round(limitMs / 1000)} s`
    let retry: NodeJS.Timeout | undefined
    const timer = setTimeout(() => finish(new Error(unreachable(announceUrl, lastProblem))), limitMs)
    const onUpdate = () => finish()
    const onWarning = (error: unknown) => {
      if (!isTransient(error)) return finish(new Error(describeTrackerError(announceUrl, torrent.infoHash, error)))
      lastProblem = `${reasonOf(error)} (retried for ${Math.round(limitMs / 1000)} s)`
      clearTimeout(retry)
      retry = setTimeout(() => tracker.start(), RETRY_AFTER_MS)
    }
    tracker.on('update', onUpdate)
    tracker.on('warning', onWarning)
    function finish(error?: Error) {
      clearTimeout(timer)
      clearTimeout(retry)
      tracker?.removeListener('update', onUpdate)
      tracker?.removeListener('warning', onWarning)
      if (error) reject(error)
      else resolve()
    }
  })
}

/** A connect or request that timed out, or a host with no route yet: worth another try. */
export function isTransient(error: unknown): boolean {
  return /timeout|timed out|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|aborted/i.test(reasonOf(error))
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.cause instanceof Error ? error.cause.message : error.message
}

/** A network failure says "not reachable"; an answer with a failure reason says "refused". */
export function describeTrackerError(announceUrl: string, infoHash: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined
  // node:http's errors (tracker-fetch.ts): a code in the message, or an abort with its reason as cause.
  const isNetwork = cause !== undefined || /aborted|socket hang up|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|Non-200/.test(message)
  if (isNetwork) return unreachable(announceUrl, cause?.message ?? message)
  return `tracker ${announceUrl} refused torrent ${infoHash}: ${message}`
}

function unreachable(announceUrl: string, reason: string): string {
  return `tracker ${announceUrl} not reachable: ${reason}; check that murder:start_tracker ran and the port is open.`
}
