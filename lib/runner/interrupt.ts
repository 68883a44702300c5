// Ctrl-C during a run. The first SIGINT sends SIGTERM to every remote command running (but the
// murder agents'), stops every file transfer, and asks every registered cleanup (murder stops its
// agents of this run) to undo remote work, so the running tasks fail and their own failure paths
// (deploy's unlock and release removal) run over the still open connections; the run then ends
// with exit 130 and its summary. A second SIGINT quits at once.
import { DeployError } from '../errors.ts'
import type { Session } from './session.ts'

export const INTERRUPTED_EXIT_CODE = 130
/** Cleanups that hang (an unreachable host) must not keep the user waiting past this. */
const CLEANUP_LIMIT_MS = 30_000

export type Cleanup = () => Promise<void>

export class Interruption {
  isInterrupted = false
  private readonly cleanups = new Set<Cleanup>()

  /** Registers work that undoes what is running now; call the returned function when it is over. */
  add(cleanup: Cleanup): () => void {
    this.cleanups.add(cleanup)
    return () => this.cleanups.delete(cleanup)
  }

  /** Installs the SIGINT handler for the run; returns its removal. */
  listen(session: Session, quit: (code: number) => never): () => void {
    const onSignal = () => {
      if (this.isInterrupted) {
        session.reporter.emit({ type: 'message', level: 'warn', text: 'interrupted again: quitting now; agents or a deploy lock may be left (see `deploy murder:stop_all_peering`, `unlock=1`)' })
        quit(INTERRUPTED_EXIT_CODE)
      }
      this.isInterrupted = true
      // Before the cleanups start commands of their own: only what ran when Ctrl-C came is stopped.
      const stopped = session.backend.interruptCommands()
      const commands = stopped > 0 ? ` (${stopped} running command(s) or file transfer(s) stopped)` : ''
      session.reporter.emit({ type: 'message', level: 'warn', text: `interrupted: stopping remote work${commands} and cleaning up (Ctrl-C again to quit at once)` })
      void this.runCleanups(session)
    }
    process.on('SIGINT', onSignal)
    return () => process.removeListener('SIGINT', onSignal)
  }

  private async runCleanups(session: Session): Promise<void> {
    const all = Promise.allSettled([...this.cleanups].map((cleanup) => session.insideCleanup.run(true, cleanup)))
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLEANUP_LIMIT_MS)))
    const outcome = await Promise.race([all, limit])
    clearTimeout(timer)
    if (outcome === 'late') session.reporter.emit({ type: 'message', level: 'warn', text: `cleanup still running after ${CLEANUP_LIMIT_MS / 1000} s; Ctrl-C again to quit` })
  }
}

export class InterruptedError extends DeployError {
  constructor(message = 'interrupted by Ctrl-C') {
    super(message, { exitCode: INTERRUPTED_EXIT_CODE })
  }
}

/** Throws between steps once Ctrl-C came: nothing new starts, failure paths still run. */
export function checkInterrupted(session: Session): void {
  if (session.interruption.isInterrupted) throw new InterruptedError()
}
