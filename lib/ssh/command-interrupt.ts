// One remote command's or file transfer's part in the first Ctrl-C (runner/interrupt.ts): whether
// the backend may stop it, how, and what its result then says.
import type { ExecResult } from './backend.ts'

/** A command the interruption came for before it started: it never runs. */
export function stoppedBeforeStart(cause: string): ExecResult {
  return { code: null, stdout: '', stderr: '', interruptedBy: cause }
}

/** The run's interruptions: the commands and transfers that one may stop now, how many came, and what sent the last. */
export class Interruptions {
  /** Each stops one command or transfer running now. */
  private readonly running = new Set<() => void>()
  private interruptions = 0
  private lastCause = 'Ctrl-C'

  /** How many interruptions came so far. */
  get count(): number {
    return this.interruptions
  }

  /** What interrupted the run (`Ctrl-C`, `SIGTERM`, …), for the messages of what it stopped. */
  get cause(): string {
    return this.lastCause
  }

  /** `stop` stops a command or transfer now running, when an interruption comes. */
  track(stop: () => void): void {
    this.running.add(stop)
  }

  untrack(stop: () => void): void {
    this.running.delete(stop)
  }

  /** A command's or transfer's part in them; `isInterruptible` false: one they leave running. */
  forCommand(isInterruptible: boolean): CommandInterrupt {
    return new CommandInterrupt(isInterruptible, this)
  }

  /** Stops everything armed now; returns how many. */
  interrupt(cause: string): number {
    this.interruptions++
    this.lastCause = cause
    const running = [...this.running]
    this.running.clear()
    for (const stop of running) stop()
    return running.length
  }
}

/**
 * One command's part in the first Ctrl-C: while armed, `interruptCommands` may stop it (an exec
 * channel's `signal` request, which OpenSSH 7.9+ sends to the command's process group; in the
 * command shell, SIGTERM to the processes under the shell, from another channel), and its result
 * then says so.
 */
export class CommandInterrupt {
  private stop: (() => void) | undefined
  private wasInterrupted = false
  private readonly interruptionsAtStart: number

  constructor(
    private readonly isInterruptible: boolean,
    private readonly interruptions: Interruptions
  ) {
    this.interruptionsAtStart = interruptions.count
  }

  /** Ctrl-C came after this command began, before it could be stopped: it should not start. */
  hasMissedInterrupt(): boolean {
    return this.isInterruptible && this.interruptions.count !== this.interruptionsAtStart
  }

  arm(signal: () => void): void {
    if (!this.isInterruptible) return
    this.disarm()
    const stop = () => {
      this.wasInterrupted = true
      signal()
    }
    // Ctrl-C came while its channel was opening: it was not among the commands stopped then.
    if (this.interruptions.count !== this.interruptionsAtStart) return stop()
    this.stop = stop
    this.interruptions.track(stop)
  }

  /** Ctrl-C stopped it (or came before it could start and stopped it then). */
  get hasStopped(): boolean {
    return this.wasInterrupted
  }

  disarm(): void {
    if (this.stop) this.interruptions.untrack(this.stop)
    this.stop = undefined
  }

  /** The result, saying whether Ctrl-C stopped the command (killed, or ended non-zero on its SIGTERM). */
  explain(result: ExecResult): ExecResult {
    return this.wasInterrupted && result.code !== 0 ? { ...result, interruptedBy: this.interruptions.cause } : result
  }
}

