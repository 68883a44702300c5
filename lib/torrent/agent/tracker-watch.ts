// A peer or seeder must not wait forever on a tracker that is down or refuses the torrent: the
// first announce either succeeds within a bound or becomes one clear error.
import type { Torrent } from 'webtorrent'

export const FIRST_ANNOUNCE_LIMIT_MS = 12_000

/** Resolves on the first answered announce; rejects with a one-line reason otherwise. */
export function waitForFirstAnnounce(torrent: Torrent, announceUrl: string, limitMs = FIRST_ANNOUNCE_LIMIT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const tracker = torrent.discovery?.tracker
    if (!tracker) return reject(new Error(`no tracker client for ${announceUrl}`))
    const timer = setTimeout(() => finish(new Error(unreachable(announceUrl, `no answer within ${Math.round(limitMs / 1000)} s`))), limitMs)
    const onUpdate = () => finish()
    const onWarning = (error: unknown) => finish(new Error(describeTrackerError(announceUrl, torrent.infoHash, error)))
    tracker.on('update', onUpdate)
    tracker.on('warning', onWarning)
    function finish(error?: Error) {
      clearTimeout(timer)
      tracker?.removeListener('update', onUpdate)
      tracker?.removeListener('warning', onWarning)
      if (error) reject(error)
      else resolve()
    }
  })
}

/** A network failure says "not reachable"; an answer with a failure reason says "refused". */
export function describeTrackerError(announceUrl: string, infoHash: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined
  const isNetwork = cause !== undefined || message === 'fetch failed' || /aborted|ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|Non-200/.test(message)
  if (isNetwork) return unreachable(announceUrl, cause?.message ?? message)
  return `tracker ${announceUrl} refused torrent ${infoHash}: ${message}`
}

function unreachable(announceUrl: string, reason: string): string {
  return `tracker ${announceUrl} not reachable: ${reason}; check that murder:start_tracker ran and the port is open.`
}
