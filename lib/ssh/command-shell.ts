// One long-lived shell per host that runs the commands which need no stdin, one at a time. Every
// command on an exec channel of its own costs the host a fork of sshd and a start of the user's
// shell; a deploy runs a dozen rounds of such commands.
//
// The shell is the login shell sshd starts for an exec command (`$SHELL -c '…'`, having read the
// start-up files it reads for any command), running a loop that reads one frame per line from its
// stdin and evaluates it. Each command runs in a subshell, `( eval '…' ) </dev/null`, so it parses
// on its own (a syntax error fails that command only), sees the functions and variables the
// start-up files made, and its `cd`, variables, umask and `exit` end with it. (Running it as
// `$SHELL -c '…'` instead cost as much as an exec channel: starting bash is the expense.) A
// subshell's `$$` is the long-lived shell's, so commands that name `$$` take an exec channel.
// Around the command the shell prints markers on stdout and stderr, holding a random token, the
// frame's number and, at the end on stdout, the exit status: a command's output is exactly what
// comes between its markers, and a command whose start markers never came never ran.
import { randomBytes } from 'node:crypto'
import type { ExecResult, OutputHandlers } from './backend.ts'
import { quote } from './quote.ts'

/** The ends of the shell's channel (an ssh2 exec channel, or a local child process in tests). */
export interface ShellPipes {
  write(text: string): void
  /** Ends the shell's stdin: it exits after the command it runs. */
  end(): void
  /** Closes the channel outright (a shell that never answered). */
  destroy(): void
  onStdout(listener: (chunk: Buffer) => void): void
  onStderr(listener: (chunk: Buffer) => void): void
  /** The shell is gone and its output has all come. May be called more than once. */
  onClose(listener: () => void): void
}

/** Record separator: starts and ends each marker; commands' text output does not hold it. */
const SEPARATOR = 0x1e
/** Exit statuses a POSIX shell gives a child killed by signal 1-64; an exec channel reports those as "killed". */
const SIGNAL_STATUS = { min: 129, max: 128 + 64 }
const LOOP_FRAME = '__murder_frame'
const LOOP_NEWLINE = '__murder_nl'

/**
 * The channel command: the loop, run by the login shell. Frames are single lines, so newlines in a
 * command travel as `$__murder_nl`; a line is read whole (`read -r`) and evaluated by the shell that
 * read the start-up files.
 */
export const SHELL_COMMAND = `${LOOP_NEWLINE}=$(printf '\\nx'); ${LOOP_NEWLINE}=\${${LOOP_NEWLINE}%x}; while IFS= read -r ${LOOP_FRAME}; do eval "$${LOOP_FRAME}"; done`

/** The shell closed before the command's start markers: the command did not run. */
export class ShellNotStartedError extends Error {
  override name = 'ShellNotStartedError'
}

/** The shell gave no sign of life in time: whether the command given to it ran is not known. */
export class ShellSilentError extends Error {
  override name = 'ShellSilentError'
}

type Stream = 'stdout' | 'stderr'
type Phase = 'before' | 'inside' | 'after'

interface RunningCommand {
  /** Starts each of the frame's markers: SEPARATOR, token, the frame's number, ':'. */
  markerStart: Buffer
  handlers: OutputHandlers
  phase: Record<Stream, Phase>
  output: Record<Stream, Buffer[]>
  code: number | null | undefined
  resolve: (result: ExecResult) => void
  reject: (error: Error) => void
}

export interface ShellOptions {
  /** How long the shell may take to start its first command. */
  timeoutMs: number
  /** Why a working shell was given up (output from a background process). */
  onRetire?: (reason: string) => void
}

export class CommandShell {
  private readonly token = randomBytes(12).toString('hex')
  private frameCount = 0
  private readonly pending: Record<Stream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }
  private running: RunningCommand | undefined
  private isClosed = false
  /** A command has started: from now on, output outside a command is a background process's. */
  private hasStarted = false
  private silenceTimer: NodeJS.Timeout | undefined
  private shellPid: number | undefined

  /** Takes over a channel running SHELL_COMMAND; `run` may be called at once. */
  constructor(
    private readonly pipes: ShellPipes,
    private readonly options: ShellOptions
  ) {
    pipes.onStdout((chunk) => this.onData('stdout', chunk))
    pipes.onStderr((chunk) => this.onData('stderr', chunk))
    pipes.onClose(() => this.onClose())
  }

  /** Open and not running a command: `run` may be called. */
  get isIdle(): boolean {
    return !this.isClosed && this.running === undefined
  }

  /** The shell's process id on the host, once it has started a command. */
  get pid(): number | undefined {
    return this.shellPid
  }

  /** Whether a command has started and not yet ended: its processes are the shell's descendants. */
  get isRunningCommand(): boolean {
    return this.running !== undefined && this.running.phase.stdout === 'inside'
  }

  /** Whether a command was given to the shell and its start marker has not come yet. */
  get isAboutToRunCommand(): boolean {
    return this.running !== undefined && this.running.phase.stdout === 'before'
  }

  /** The shell has gone, or was given up: no command runs in it any more. */
  get hasClosed(): boolean {
    return this.isClosed
  }

  /**
   * Runs one command; resolves with its exit status and its output, trimmed, as an exec channel
   * would give them. `code` null: killed by a signal, or the shell went away while it ran
   * (`hasClosed` then tells). Rejects with ShellNotStartedError (the command did not run) or
   * ShellSilentError. One command at a time: check `isIdle`.
   */
  run(command: string, handlers: OutputHandlers): Promise<ExecResult> {
    if (handlers.stdin) throw new Error('CommandShell runs only commands without stdin')
    if (!this.isIdle) throw new Error(this.isClosed ? 'the shell has closed' : 'the shell is running another command')
    const label = `${this.token}${++this.frameCount}`
    const text = frame(command, label)
    return new Promise<ExecResult>((resolve, reject) => {
      const phase: Record<Stream, Phase> = { stdout: 'before', stderr: 'before' }
      this.running = { markerStart: Buffer.from(`\x1e${label}:`), handlers, phase, output: { stdout: [], stderr: [] }, code: undefined, resolve, reject }
      if (!this.hasStarted) this.silenceTimer = setTimeout(() => this.onSilence(), this.options.timeoutMs)
      this.pipes.write(text)
    })
  }

  /** Ends the shell's stdin: it exits once its current command (if any) is done. */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    clearTimeout(this.silenceTimer)
    this.pipes.end()
  }

  private onData(stream: Stream, chunk: Buffer): void {
    let bytes = this.pending[stream].length > 0 ? Buffer.concat([this.pending[stream], chunk]) : chunk
    this.pending[stream] = Buffer.alloc(0)
    while (bytes.length > 0) {
      const running = this.running
      if (!running || running.phase[stream] === 'after') return this.outside()
      const found = bytes.indexOf(running.markerStart)
      if (found === -1) {
        // Hold back a tail that could be the start of a marker.
        const last = bytes.lastIndexOf(SEPARATOR)
        const keepFrom = last !== -1 && bytes.length - last < running.markerStart.length ? last : bytes.length
        if (running.phase[stream] === 'inside') this.deliver(running, stream, bytes.subarray(0, keepFrom))
        else if (keepFrom > 0) this.outside()
        this.pending[stream] = bytes.subarray(keepFrom)
        return
      }
      const statusStart = found + running.markerStart.length
      const statusEnd = bytes.indexOf(SEPARATOR, statusStart)
      if (running.phase[stream] === 'inside') this.deliver(running, stream, bytes.subarray(0, found))
      else if (found > 0) this.outside()
      if (statusEnd === -1) {
        this.pending[stream] = bytes.subarray(found)
        return
      }
      this.onMarker(running, stream, bytes.subarray(statusStart, statusEnd).toString('latin1'))
      bytes = bytes.subarray(statusEnd + 1)
    }
  }

  /** `s` (on stdout with the shell's pid): the command starts; on stdout a number, on stderr `e`: it has ended. */
  private onMarker(running: RunningCommand, stream: Stream, status: string): void {
    if (status.startsWith('s')) {
      if (stream === 'stdout' && /^s\d+$/.test(status)) this.shellPid = Number(status.slice(1))
      running.phase[stream] = 'inside'
      this.hasStarted = true
      clearTimeout(this.silenceTimer)
      return
    }
    running.phase[stream] = 'after'
    if (stream === 'stdout') {
      const code = Number(status)
      running.code = code >= SIGNAL_STATUS.min && code <= SIGNAL_STATUS.max ? null : code
    }
    if (running.phase.stdout === 'after' && running.phase.stderr === 'after') this.finish(running)
  }

  /**
   * Output outside any command. Before the first command, the start-up files': dropped. After it, a
   * background process still writing to the shell's stdout or stderr: it belongs to no command and
   * would land in the next one's output, so the shell is given up and the host's later commands take
   * exec channels. (What such a process prints while a later command runs cannot be told apart.)
   */
  private outside(): void {
    if (!this.hasStarted || this.isClosed) return
    this.close()
    this.options.onRetire?.("a background process wrote to a command's output after the command ended; redirect it (cmd >log 2>&1 &)")
  }

  private deliver(running: RunningCommand, stream: Stream, bytes: Buffer): void {
    if (bytes.length === 0) return
    const copy = Buffer.from(bytes)
    running.output[stream].push(copy)
    if (stream === 'stdout') running.handlers.onStdout?.(copy)
    else running.handlers.onStderr?.(copy)
  }

  private finish(running: RunningCommand, note?: string): void {
    if (this.running !== running) return
    this.running = undefined
    const stderr = Buffer.concat(running.output.stderr).toString('utf8').trim()
    running.resolve({
      code: running.code ?? null,
      stdout: Buffer.concat(running.output.stdout).toString('utf8').trim(),
      stderr: note === undefined ? stderr : `${stderr}${stderr === '' ? '' : '\n'}${note}`,
    })
  }

  private onClose(): void {
    this.isClosed = true
    clearTimeout(this.silenceTimer)
    const running = this.running
    if (!running) return
    if (running.phase.stdout === 'before' && running.phase.stderr === 'before') {
      this.running = undefined
      running.reject(new ShellNotStartedError('the shell closed before the command started'))
    } else if (running.code !== undefined) this.finish(running)
    else this.finish(running, 'the command shell on the host ended while this command ran')
  }

  private onSilence(): void {
    const running = this.running
    if (this.hasStarted || this.isClosed || !running) return
    this.isClosed = true
    this.running = undefined
    this.pipes.destroy()
    running.reject(new ShellSilentError(`no sign of the shell within ${this.options.timeoutMs} ms`))
  }
}

/**
 * A command that needs a shell process of its own: one that names `$$` (its shell's process id),
 * and one holding a NUL byte, which no shell command can (an exec channel passes what precedes it).
 */
export function needsOwnShell(command: string): boolean {
  return /\$\$|\$\{\$\}/.test(command) || command.includes('\0')
}

/** One line for the loop: start markers, the command in a subshell, end markers. */
export function frame(command: string, label: string): string {
  // The loop's own variables are left out of the command's shell, on its first line: a line of
  // their own would shift every line number the shell reports in an error.
  const text = quote(`unset ${LOOP_FRAME} ${LOOP_NEWLINE}; ${command}`).replace(/\n/g, `'"$${LOOP_NEWLINE}"'`)
  // The stdout start marker carries the shell's pid (`$$` here is the loop's): Ctrl-C stops what
  // the command runs by it (killTreeCommand).
  const start = `printf '\\036%s:s%s\\036' ${label} "$$"; printf '\\036%s:s\\036' ${label} >&2`
  const end = `printf '\\036%s:%s\\036' ${label} "$?"; printf '\\036%s:e\\036' ${label} >&2`
  return `${start}; ( eval ${text} ) </dev/null; ${end}\n`
}

/**
 * Run by another shell on the host: SIGTERM to every process under the command shell `pid` (the
 * command running in it and all it started), not to the shell, which then reports the command as
 * killed and takes the next. Processes that left the tree (`nohup app &` from an earlier command,
 * now init's) are not touched. Without /proc/PID/task/TID/children, the shell's children only.
 */
export function killTreeCommand(pid: number): string {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`killTreeCommand: not a process id: ${pid}`)
  const children = 'cat /proc/"$p"/task/*/children 2>/dev/null'
  const walk = `all= next=${pid} depth=0; while [ -n "$next" ] && [ $depth -lt 64 ]; do cur=$next; next=; depth=$((depth + 1)); for p in $cur; do for c in $(${children}); do all="$all $c" next="$next $c"; done; done; done`
  return `if [ -r /proc/${pid}/task/${pid}/children ]; then ${walk}; [ -z "$all" ] || kill -TERM $all 2>/dev/null; else pkill -TERM -P ${pid}; fi; true`
}
