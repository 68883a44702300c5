// Remote work a deployfile started and did not await (a missing `await` before remote.run or on(),
// easy to write for a Fabric user, whose calls block). Left alone, the task "succeeded" at once,
// the run then closed the connections under the command, and Node crashed on the rejection with a
// stack trace: the command never ran. Now the block or task waits for what it left running and
// fails, naming the call and its line.
import { ConfigError } from '../errors.ts'
import type { CallerLocation } from '../config/caller-location.ts'

interface Started {
  promise: Promise<unknown>
  /** The call as the message shows it: remote.run(`uptime`), on(). */
  call: string
  site: CallerLocation
}

/** What one on() block or task body has started and not yet seen settle. */
export class UnawaitedWork {
  private readonly running = new Set<Started>()

  /** Tracks `promise` until it settles; returns it unchanged. Its failure is never an unhandled rejection. */
  track<T>(promise: Promise<T>, call: string, site: CallerLocation): Promise<T> {
    const started: Started = { promise, call, site }
    this.running.add(started)
    const settle = () => this.running.delete(started)
    promise.then(settle, settle)
    return promise
  }

  /** Once the block or task has returned: waits for what it left running, then fails naming the first such call. */
  async check(ended: string): Promise<void> {
    if (this.running.size === 0) return
    const left = [...this.running]
    const outcomes = await Promise.allSettled(left.map((started) => started.promise))
    const [first] = left
    if (first === undefined) return
    const others = left.length > 1 ? ` (and ${left.length - 1} more call(s))` : ''
    // Its own failure, if it failed, is said too: the missing await also hid it.
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')?.reason as unknown
    const failed = failure === undefined ? '' : ` (${left.length > 1 ? 'one of them' : 'it'} failed: ${failure instanceof Error ? failure.message : String(failure)})`
    throw new ConfigError(`${first.call} at ${first.site.value} was not awaited${others}: ${ended} returned while it ran${failed}; write await before it.`, undefined, failure)
  }
}

/** A command as a message quotes it: its first line, cut short. */
export function shownCall(method: string, command: string): string {
  const [line = ''] = command.split('\n')
  const short = line.length > 60 ? `${line.slice(0, 57)}…` : line
  return `remote.${method}(\`${short}${line === command ? '' : ' …'}\`)`
}
