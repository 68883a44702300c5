// Calls `onIdle` once a count (bytes received, bytes sent, announces served) has not grown for
// `limitMs`: how a transfer's process notices that nothing is left to wait for.

export interface IdleWatch {
  stop(): void
}

export function watchIdle(count: () => number, limitMs: number, onIdle: () => void): IdleWatch {
  let seen = count()
  let changedAt = Date.now()
  const timer = setInterval(() => {
    const now = count()
    if (now !== seen) {
      seen = now
      changedAt = Date.now()
    } else if (Date.now() - changedAt >= limitMs) {
      clearInterval(timer)
      onIdle()
    }
  }, Math.min(1000, limitMs / 4))
  return { stop: () => clearInterval(timer) }
}
