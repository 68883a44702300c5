// Who holds a deploy lock: the line `deploy:lock` writes into DEPLOY_TO/deploy.lock, and what it
// tells a later deploy on the same machine (its process gone: that deploy died, the lock is stale).

/** `alice@ws1 (pid 4242) since 2026-12-05T10:00:00.000Z` */
export function lockHolderLine(user: string, machine: string, pid: number, since: Date): string {
  return `${user}@${machine} (pid ${pid}) since ${since.toISOString()}`
}

/**
 * The pid of a holder line written on `machine` whose process is no longer running there
 * (`isRunning` asks), else undefined: a holder on another machine, or one still alive, or a line
 * of another shape (a lock Capistrano or a person wrote), says nothing.
 */
export function deadHolderPid(line: string, machine: string, isRunning: (pid: number) => boolean): number | undefined {
  const match = /^\S+@(\S+) \(pid (\d+)\) since \S+$/.exec(line.trim())
  if (!match || match[1] !== machine) return undefined
  const pid = Number(match[2])
  return pid > 0 && pid !== process.pid && !isRunning(pid) ? pid : undefined
}

/** Whether a process of that pid runs here (kill 0: EPERM means it runs as another user). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
