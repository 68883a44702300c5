// Ctrl-C during a run, or SIGTERM or SIGHUP, which stop a run the same way: a CI runner cancelling
// a job, `timeout`, systemd or a container's stop send SIGTERM, a closed terminal SIGHUP, and a
// run they ended at once would leave its lock, agents and half-made release behind. So does npm
// ending under a CLI it started (`npx deploy`, an npm script): npm passes a SIGTERM on only to the
// shell it runs the CLI in, and the run would go on, orphaned, after its job was cancelled.
// The first of these sends SIGTERM to every remote command running (but the murder agents'), stops
// every file transfer, and asks every registered cleanup (murder stops its agents of this run) to
// undo remote work, so the running tasks fail and their own failure paths (deploy's unlock and
// release removal) run over the still open connections; the run then ends with 128 + the signal's
// number (130, 143, 129) and its summary. A Ctrl-C after it quits at once; a repeated SIGTERM or
// SIGHUP (CI runners send SIGINT, then SIGTERM while the cleanup runs) does not cut the cleanup short.
import { constants } from 'node:os'
import { DeployError } from '../errors.ts'
import type { Session } from './session.ts'

/** What stopped the run, as its messages name it. */
export type InterruptCause = 'Ctrl-C' | 'SIGTERM' | 'SIGHUP' | 'the end of npm'
/** The signal each cause stands for: its number makes the exit status; npm ends on a SIGTERM it passed on. */
const SIGNALS: Record<InterruptCause, NodeJS.Signals> = { 'Ctrl-C': 'SIGINT', SIGTERM: 'SIGTERM', SIGHUP: 'SIGHUP', 'the end of npm': 'SIGTERM' }
const LISTENED: readonly InterruptCause[] = ['Ctrl-C', 'SIGTERM', 'SIGHUP']

/** The shell's status for a process a signal ended: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP. */
export function interruptedExitCode(cause: InterruptCause): number {
  return 128 + constants.signals[SIGNALS[cause]]
}

/** Cleanups that hang (an unreachable host) must not keep the user waiting past this. */
const CLEANUP_LIMIT_MS = 30_000
/**
 * A second signal this soon after the first is the same one delivered twice (the terminal's Ctrl-C
 * to the whole group, and npm passing it on where /bin/sh is bash), not a second Ctrl-C.
 */
const REPEAT_GRACE_MS = 1000
/** How often a run npm started looks for npm's end. */
const PARENT_CHECK_MS = 500
/** Read as the CLI starts: npm may end while the deployfile still loads, before the run listens. */
const PARENT_AT_START = process.ppid

export type Cleanup = (cause: InterruptCause) => Promise<void>

export interface ListenOptions {
  /** Started by npm (`npx deploy`, an npm script): npm's end is an interruption too. */
  isStartedByNpm: boolean
  quit: (code: number) => never
}

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

  /** Installs the signal handlers (and npm's watch) for the run; returns their removal. */
  listen(session: Session, { isStartedByNpm, quit }: ListenOptions): () => void {
    let interruptedAt = 0
    let hasSaidRepeat = false
    const warn = (text: string) => session.reporter.emit({ type: 'message', level: 'warn', text })
    const onInterrupt = (cause: InterruptCause) => {
      if (this.isInterrupted) {
        if (Date.now() - interruptedAt < REPEAT_GRACE_MS) return
        if (cause === 'Ctrl-C') {
          const stage = session.variables.fetch<string | undefined>('stage', undefined) ?? 'STAGE'
          warn(`interrupted again: quitting now; agents or a deploy lock may be left (see \`deploy ${stage} murder:stop_all_peering\`, \`unlock=1\`)`)
          quit(interruptedExitCode(cause))
        }
        if (!hasSaidRepeat && LISTENED.includes(cause)) warn(`${cause} again: the cleanup goes on (a Ctrl-C quits at once)`)
        hasSaidRepeat = true
        return
      }
      this.isInterrupted = true
      this.cause = cause
      interruptedAt = Date.now()
      // Before the cleanups start commands of their own: only what ran when the signal came is stopped.
      const stopped = session.backend.interruptCommands(cause)
      const commands = stopped > 0 ? ` (${stopped} running command(s) or file transfer(s) stopped)` : ''
      const by = cause === 'Ctrl-C' ? '' : ` by ${cause}`
      warn(`interrupted${by}: stopping remote work${commands} and cleaning up (${cause === 'Ctrl-C' ? 'Ctrl-C again' : 'a Ctrl-C'} to quit at once)`)
      void this.runCleanups(session)
    }
    const removals: (() => void)[] = LISTENED.map((cause) => {
      const signal = SIGNALS[cause]
      const handler = () => onInterrupt(cause)
      process.on(signal, handler)
      return () => void process.removeListener(signal, handler)
    })
    if (isStartedByNpm) {
      // npm waits for the CLI; its shell gone before the run ends means npm was stopped.
      const watch = setInterval(() => {
        if (process.ppid === PARENT_AT_START) return
        clearInterval(watch)
        onInterrupt('the end of npm')
      }, PARENT_CHECK_MS).unref()
      removals.push(() => clearInterval(watch))
    }
    return () => {
      for (const remove of removals) remove()
    }
  }

  private async runCleanups(session: Session): Promise<void> {
    const all = Promise.allSettled([...this.cleanups].map((cleanup) => session.insideCleanup.run(true, () => cleanup(this.cause))))
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLEANUP_LIMIT_MS)))
    const outcome = await Promise.race([all, limit])
    clearTimeout(timer)
    if (outcome === 'late') session.reporter.emit({ type: 'message', level: 'warn', text: `cleanup still running after ${CLEANUP_LIMIT_MS / 1000} s; a Ctrl-C quits at once` })
  }
}

export class InterruptedError extends DeployError {
  constructor(message = 'interrupted by Ctrl-C', cause: InterruptCause = 'Ctrl-C') {
    super(message, { exitCode: interruptedExitCode(cause) })
  }

  /** `interrupted by SIGTERM`, with that cause's exit status. */
  static by(cause: InterruptCause): InterruptedError {
    return new InterruptedError(`interrupted by ${cause}`, cause)
  }
}

/** Throws between steps once the run was interrupted: nothing new starts, failure paths still run. */
export function checkInterrupted(session: Session): void {
  const { isInterrupted, cause } = session.interruption
  if (isInterrupted) throw InterruptedError.by(cause)
}
