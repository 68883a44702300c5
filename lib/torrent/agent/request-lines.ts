// The controller's request lines on a held command's stdin (`stop`, `unpack …`), read one at a
// time as the command gets to them.
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

/** The lines of `input` (trimmed), one at a time, kept until asked for; undefined once it has ended. */
export interface RequestLines {
  next: () => Promise<string | undefined>
  /** Settles once `input` has ended, whether or not its lines were asked for. */
  ended: Promise<void>
  /** Stops reading and lets `input` go. */
  close: () => void
}

export function requestLines(input: Readable): RequestLines {
  const lines = createInterface({ input, crlfDelay: Infinity })
  const queued: string[] = []
  // An input whose end was already emitted (read whole by someone else) emits nothing more.
  let hasEnded = input.readableEnded || input.destroyed
  let waiting: ((line: string | undefined) => void) | undefined
  let markEnded = () => {}
  const ended = new Promise<void>((resolve) => (markEnded = resolve))
  if (hasEnded) markEnded()
  const hand = (line: string | undefined) => {
    const resolve = waiting
    waiting = undefined
    resolve?.(line)
  }
  lines.on('line', (text) => {
    if (waiting) hand(text.trim())
    else queued.push(text.trim())
  })
  lines.once('close', () => {
    hasEnded = true
    markEnded()
    hand(undefined)
  })
  return {
    ended,
    next: () => {
      const line = queued.shift()
      if (line !== undefined || hasEnded) return Promise.resolve(line)
      return new Promise<string | undefined>((resolve) => (waiting = resolve))
    },
    close: () => {
      lines.close()
      input.destroy()
    },
  }
}
