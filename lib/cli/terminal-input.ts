// The terminal `ask` reads from: stdin when it is one, read synchronously because a variable is
// fetched synchronously (at the deployfile's top level too, as Capistrano's are). The question goes
// to stderr with the run's log, so that a task's data on stdout stays clean.
import { readSync } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { InterruptedError } from '../runner/interrupt.ts'
import { EMPTY_LINE, editLine, type LineEnd } from './line-editor.ts'
import type { Answer, Terminal } from '../config/question.ts'
import type { TerminalOutput } from '../report/console-reporter.ts'

const STDIN_FD = 0
/** A read that would block on a non-blocking stdin waits this long before trying again. */
const RETRY_WAIT_MS = 20

/** Asks on this process's terminal (stdin a TTY), writing the question and the echo to `output`. */
export function processTerminal(output: TerminalOutput): Terminal {
  return {
    ask(question, { echo }) {
      const { text, end } = readLine(question, echo, (written) => output.write(written))
      if (end === 'interrupt') {
        // Raw mode turned Ctrl-C into a key: sent on as the signal it would have been, so the run
        // stops as it does for any Ctrl-C (running commands stopped, cleanups, exit 130).
        process.kill(process.pid, 'SIGINT')
        throw new InterruptedError('interrupted by Ctrl-C at a question')
      }
      return end === 'end-of-input' ? { kind: 'end-of-input' } : ({ kind: 'typed', text } satisfies Answer)
    },
  }
}

/**
 * Asks and reads one line in raw mode (restored however it ends). The question appears only once
 * raw mode is on: a Ctrl-C typed at it in the terminal's own mode would be a SIGINT, which waits
 * for this read to end.
 */
function readLine(question: string, isEchoed: boolean, write: (text: string) => void): { text: string; end: LineEnd } {
  const stdin = process.stdin
  const wasRaw = stdin.isRaw
  stdin.setRawMode(true)
  try {
    write(question)
    const decoder = new StringDecoder('utf8')
    const buffer = Buffer.alloc(256)
    let state = EMPTY_LINE
    for (;;) {
      const count = readSome(buffer)
      if (count === 0) return { text: state.text, end: 'end-of-input' }
      const step = editLine(state, decoder.write(buffer.subarray(0, count)), isEchoed)
      state = step.state
      if (step.echo !== '') write(step.echo)
      if (step.end) return { text: state.text, end: step.end }
    }
  } finally {
    stdin.setRawMode(wasRaw)
    // Not kept open by having been touched: the run's event loop must still end on its own.
    stdin.pause()
    stdin.unref()
  }
}

/** Bytes from stdin; waits out EAGAIN (a stdin another process left non-blocking) and EINTR (a signal: a resized window). */
function readSome(buffer: Buffer): number {
  for (;;) {
    try {
      return readSync(STDIN_FD, buffer, 0, buffer.length, null)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EINTR') continue
      if (code !== 'EAGAIN') throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_WAIT_MS)
    }
  }
}
