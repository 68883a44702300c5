// Ctrl-C during a run, or SIGTERM or SIGHUP, which stop a run the same way: a CI runner cancelling
// a job, `timeout`, systemd or a container's stop send SIGTERM, a closed terminal SIGHUP, and a
// run they ended at once would leave its lock, agents and half-made release behind. The first
// signal sends SIGTERM to every remote command running (but the murder agents'), stops every file
// transfer, and asks every registered cleanup (murder stops its agents of this run) to undo remote
// work, so the running tasks fail and their own failure paths (deploy's unlock and release
// removal) run over the still open connections; the run then ends with 128 + the signal's number
// (130, 143, 129) and its summary. A second signal quits at once.
import { constants } from 'node:os'
import { DeployError } from '../errors.ts'
import type { Session } from './session.ts'

/** What stopped the run, as its messages name it. */
export type InterruptCause = 'Ctrl-C' | 'SIGTERM' | 'SIGHUP'
const SIGNALS: Record<InterruptCause, NodeJS.Signals> = { 'Ctrl-C': 'SIGINT', SIGTERM: 'SIGTERM', SIGHUP: 'SIGHUP' }

/** The shell's status for a process a signal ended: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP. */
export function interruptedExitCode(cause: InterruptCause): number {
  return 128 + constants.signals[SIGNALS[cause]]
}

/** Cleanups that hang (an unreachable host) must not keep the user waiting past this. */
const CLEANUP_LIMIT_MS = 30_000

export type Cleanup = (cause: InterruptCause) => Promise<void>

export class Interruption {
  isInterrupted = false
  /** Meaningful once `isInterrupted`. */
  cause: InterruptCause = 'Ctrl-C'
  private readonly cleanups = new Set<Cleanup>()

  /** Registers work that undoes what is running now; call the returned function when it is over. */
  add(cleanup: Cleanup): () => void {
    this.cleanups.add(cleanup)
    return () => this.cleanups.delete(cleanup)
  }

  /** Installs the signal handlers for the run; returns their removal. */
  listen(session: Session, quit: (code: number) => never): () => void {
    const onSignal = (cause: InterruptCause) => {
      if (this.isInterrupted) {
        session.reporter.emit({ type: 'message', level: 'warn', text: `${cause === 'Ctrl-C' ? 'interrupted' : cause} again: quitting now; agents or a deploy lock may be left (see \`deploy murder:stop_all_peering\`, \`unlock=1\`)` })
        quit(interruptedExitCode(cause))
      }
      this.isInterrupted = true
      this.cause = cause
      // Before the cleanups start commands of their own: only what ran when the signal came is stopped.
      const stopped = session.backend.interruptCommands(cause)
      const commands = stopped > 0 ? ` (${stopped} running command(s) or file transfer(s) stopped)` : ''
      const by = cause === 'Ctrl-C' ? '' : ` by ${cause}`
      session.reporter.emit({ type: 'message', level: 'warn', text: `interrupted${by}: stopping remote work${commands} and cleaning up (${again(cause)} to quit at once)` })
      void this.runCleanups(session)
    }
    const handlers = Object.entries(SIGNALS).map(([cause, signal]) => {
      const handler = () => onSignal(cause as InterruptCause)
      process.on(signal, handler)
      return () => process.removeListener(signal, handler)
    })
    return () => handlers.forEach((remove) => remove())
  }

  private async runCleanups(session: Session): Promise<void> {
    const all = Promise.allSettled([...this.cleanups].map((cleanup) => session.insideCleanup.run(true, () => cleanup(this.cause))))
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLEANUP_LIMIT_MS)))
    const outcome = await Promise.race([all, limit])
    clearTimeout(timer)
    if (outcome === 'late') session.reporter.emit({ type: 'message', level: 'warn', text: `cleanup still running after ${CLEANUP_LIMIT_MS / 1000} s; ${again(this.cause)} to quit` })
  }
}

function again(cause: InterruptCause): string {
  return cause === 'Ctrl-C' ? 'Ctrl-C again' : `Ctrl-C or ${cause} again`
}

export class InterruptedError extends DeployError {
  constructor(message = 'interrupted by Ctrl-C', cause: InterruptCause = 'Ctrl-C') {
    super(message, { exitCode: interruptedExitCode(cause) })
  }
}

/** Throws between steps once the run was interrupted: nothing new starts, failure paths still run. */
export function checkInterrupted(session: Session): void {
  const { isInterrupted, cause } = session.interruption
  if (isInterrupted) throw new InterruptedError(`interrupted by ${cause}`, cause)
}
