import { formatDuration, withoutHostName, type Paint } from './format.ts'
import type { Reporter, RunEvent } from './events.ts'
import type { Verbosity } from '../cli/args.ts'

export interface TerminalOutput {
  write(text: string): void
  isTTY: boolean
}

const PLAIN_PROGRESS_INTERVAL_MS = 5000

/**
 * Writes events as lines prefixed by host. On a terminal the progress view is redrawn in place
 * below the log; elsewhere it is printed as plain lines every few seconds.
 */
export class ConsoleReporter implements Reporter {
  private progressLines: string[] = []
  private lastPlainProgressAt = 0
  private isClosed = false

  constructor(
    private readonly out: TerminalOutput,
    private readonly paint: Paint,
    private readonly verbosity: Verbosity,
    /** Also quiet commands (capture, test): --dry-run shows every command it would run. */
    private readonly showsQuietCommands: boolean
  ) {}

  emit(event: RunEvent): void {
    if (this.isClosed) return
    if (event.type === 'progress') return this.showProgress(event.lines, event.final)
    const lines = this.linesFor(event)
    if (lines.length === 0) return
    this.clearProgress()
    this.out.write(lines.map((line) => `${line}\n`).join(''))
    this.drawProgress()
  }

  close(): void {
    this.clearProgress()
    this.progressLines = []
    this.isClosed = true
  }

  private linesFor(event: Exclude<RunEvent, { type: 'progress' }>): string[] {
    const { paint } = this
    const isQuiet = this.verbosity === 'quiet'
    const isVerbose = this.verbosity === 'verbose'
    switch (event.type) {
      case 'task-start':
        return isQuiet ? [] : [paint.bold(`▶ ${event.task}`)]
      case 'task-end': {
        const carriedOn = event.failedHosts ?? []
        if (isQuiet && event.ok && carriedOn.length === 0) return []
        const mark = !event.ok ? paint.red('✖') : carriedOn.length > 0 ? paint.yellow('!') : paint.green('✔')
        const without = carriedOn.length > 0 ? ` ${paint.yellow(`carried on without ${hostList(carriedOn)}`)}` : ''
        return [`${mark} ${event.task} ${paint.dim(formatDuration(event.durationMs))}${without}`]
      }
      case 'task-skip':
        return isQuiet ? [] : [paint.dim(`- ${event.task} skipped: ${event.reason}`)]
      case 'command':
        if (isQuiet || (event.quiet && !this.showsQuietCommands)) return []
        // A command of several lines (a value with a newline) keeps the host on each, so that a
        // parallel run's lines can still be told apart: `>` marks a continuation.
        return event.command.split('\n').map((line, index) => `  ${paint.host(event.host)} ${paint.dim(index === 0 ? '$' : '>')} ${line}`)
      case 'command-end':
        return isVerbose ? [`  ${paint.host(event.host)} ${paint.dim(`exit ${event.code} in ${formatDuration(event.durationMs)}`)}`] : []
      case 'output':
        if (isQuiet || (event.quiet && !this.showsQuietCommands)) return []
        // Told apart without colour too (CI logs, pipes): `|` for stdout, `!` for stderr.
        return [`  ${paint.host(event.host)} ${event.stream === 'stderr' ? paint.yellow('!') : paint.dim('|')} ${event.line}`]
      case 'host-failed':
        return [`  ${paint.host(event.host)} ${paint.red('✖')} ${withoutHostName(event.host, event.message)}`]
      case 'connect':
        return isVerbose ? [`  ${paint.host(event.host)} ${paint.dim(`connecting to ${event.target}`)}`] : []
      case 'message': {
        if (isQuiet && event.level === 'info') return []
        const prefix = event.host ? `  ${paint.host(event.host)} ` : ''
        return [`${prefix}${event.level === 'warn' ? paint.yellow(`warning: ${event.text}`) : event.text}`]
      }
    }
  }

  private showProgress(lines: string[], isFinal: boolean): void {
    if (this.out.isTTY) {
      this.clearProgress()
      this.progressLines = isFinal ? [] : lines
      if (isFinal) this.out.write(lines.map((line) => `${line}\n`).join(''))
      this.drawProgress()
      return
    }
    const now = Date.now()
    if (!isFinal && now - this.lastPlainProgressAt < PLAIN_PROGRESS_INTERVAL_MS) return
    this.lastPlainProgressAt = now
    if (this.verbosity !== 'quiet' || isFinal) this.out.write(lines.map((line) => `${line}\n`).join(''))
  }

  private clearProgress(): void {
    if (!this.out.isTTY || this.progressLines.length === 0) return
    this.out.write(`\u001b[${this.progressLines.length}A\u001b[0J`)
  }

  private drawProgress(): void {
    if (!this.out.isTTY || this.progressLines.length === 0) return
    this.out.write(this.progressLines.map((line) => `${line}\n`).join(''))
  }
}

const LISTED_HOSTS = 5

/** `h04`, `h04, h07`, or `6 hosts (h01, h02, h03, h04, h05, …)`: one line however many failed. */
function hostList(hosts: readonly string[]): string {
  if (hosts.length === 1) return hosts[0]!
  const shown = hosts.slice(0, LISTED_HOSTS).join(', ')
  return hosts.length <= LISTED_HOSTS ? shown : `${hosts.length} hosts (${shown}, …)`
}
