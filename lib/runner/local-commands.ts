// A task's local shell is zx's `$`. Its commands are shown like a host's, as `local $ …`, through
// the run's reporter, so that `-q` hides them and secrets are masked as on hosts; what they print
// to stderr as `local ! …`, to stdout as `local | …` under --verbose only: `$` is also how a task
// reads things (a token from a vault), as `capture`, whose output is not shown. A failing one is
// described as a failing remote command is (describeLocalFailure). Under --dry-run `$` runs `true`
// in place of each command. The deploy's own `$` commands (packing the release) have a log of
// their own and run for real in a dry run (release-source.ts).
import { spawn, spawnSync } from 'node:child_process'
import { $, ProcessOutput, type LogEntry } from 'zx/core'
import { thrownAt } from '../config/caller-location.ts'
import { projectRootIfLoaded } from '../config/project-root.ts'
import { errorMessage, shorten } from '../errors.ts'
import type { Reporter } from '../report/events.ts'
import { LineSplitter } from '../report/line-splitter.ts'

const LOCAL = 'local'

interface LocalCommand {
  text: string
  /** Taken as the command starts, inside the deployfile's `$` call: read only if it fails, for its line. */
  trace: Error | undefined
  /** The end of what it wrote to stderr, shown or not: tells its ProcessOutput from another's. */
  stderrTail: string
  /** Run quiet from its start (`$({ quiet: true })`, `$.verbose = false`): its lines show only where its command line does. */
  isQuiet: boolean
  stdout: LineSplitter
  stderr: LineSplitter
}

interface LocalFailure {
  text: string
  trace: Error | undefined
  code: number | null
  stderrTail: string
}

/**
 * Local commands that failed lately, newest last, for the error each ProcessOutput becomes (which
 * names neither the command nor the deployfile's line); matched by exit code and stderr, so that
 * commands failing at once (one per host in an `on` block) are told apart.
 */
const recentFailures: LocalFailure[] = []
const KEPT_FAILURES = 64
const STDERR_TAIL_CHARS = 2048

/** A deeper stack than Node's default 10 frames: zx's own take 9 before the deployfile's. */
function traceHere(): Error {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 40
  const trace = new Error('local command')
  Error.stackTraceLimit = limit
  return trace
}

/**
 * Shows `$` commands and their output through `reporter`. Called before the deployfile loads, so
 * that a deployfile setting `$.verbose = false` makes its commands quiet, as zx documents. A command
 * run quiet (`$({ quiet: true })`, `$.verbose = false`) is shown with its stderr as `capture`'s
 * are (`showsQuiet`: under --verbose and --dry-run).
 */
export function reportLocalCommands(reporter: Reporter, { showsStdout, showsQuiet }: { showsStdout: boolean; showsQuiet: boolean }): void {
  const running = new Map<string, LocalCommand>()
  const commandOf = (id: string, text = '', trace?: Error, isQuiet = false) => {
    let command = running.get(id)
    if (command === undefined) {
      const emitLine = (stream: 'stdout' | 'stderr') => (line: string) => reporter.emit({ type: 'output', host: LOCAL, stream, line })
      command = { text, trace, stderrTail: '', isQuiet, stdout: new LineSplitter(emitLine('stdout')), stderr: new LineSplitter(emitLine('stderr')) }
      running.set(id, command)
    }
    return command
  }
  $.verbose = true
  $.log = (entry: LogEntry) => {
    switch (entry.kind) {
      case 'cmd':
        commandOf(entry.id, entry.cmd, traceHere(), !entry.verbose)
        reporter.emit({ type: 'command', host: LOCAL, command: entry.cmd, ...(entry.verbose ? {} : { quiet: true }) })
        return
      case 'stdout':
        if (entry.verbose && showsStdout) commandOf(entry.id).stdout.push(entry.data)
        return
      case 'stderr': {
        const command = commandOf(entry.id)
        command.stderrTail = (command.stderrTail + entry.data.toString()).slice(-STDERR_TAIL_CHARS)
        // A quiet command's stderr goes with its command line (zx would print a `$.verbose = false`
        // command's all the same, and marks a `$({ quiet: true })` command's entries verbose: false).
        if (command.isQuiet ? showsQuiet : entry.verbose) command.stderr.push(entry.data)
        return
      }
      case 'end': {
        // zx ends an unfinished last line with a newline of its own just after this entry.
        const id = entry.id
        const started = running.get(id)
        if (started !== undefined && (entry.exitCode !== 0 || entry.error !== null)) {
          recentFailures.push({ text: started.text, trace: started.trace, code: entry.exitCode, stderrTail: started.stderrTail })
          if (recentFailures.length > KEPT_FAILURES) recentFailures.shift()
        }
        queueMicrotask(() => {
          const command = running.get(id)
          if (command === undefined) return
          running.delete(id)
          command.stdout.end()
          command.stderr.end()
          reporter.emit({ type: 'command-end', host: LOCAL, command: command.text, code: entry.exitCode, durationMs: entry.duration })
        })
        return
      }
      default:
        return
    }
  }
}

/** Makes `$` run `true` in place of each command, for the rest of the process (a dry run's): `reportLocalCommands` still prints them. */
export function fakeLocalCommands(): void {
  // Not in the command's cwd: a directory an earlier (faked) command would have made is not there.
  $.spawn = ((_command: string, _args: unknown, options: Parameters<typeof spawn>[2]) => spawn('true', [], { ...options, cwd: undefined, shell: false })) as typeof $.spawn
  $.spawnSync = ((_command: string, _args: unknown, options: Parameters<typeof spawnSync>[2]) => spawnSync('true', [], { ...options, cwd: undefined, shell: false })) as typeof $.spawnSync
}

/**
 * A failed `$` said as a failed remote command is: `local \`make\` exited 2: its last stderr lines`,
 * and the deployfile line that ran it; undefined for any other error.
 */
export function describeLocalFailure(error: unknown): { message: string; at: string | undefined } | undefined {
  if (!(error instanceof ProcessOutput)) return undefined
  const stderr = error.stderr
  // Trimmed: zx ends an unfinished last line with a newline of its own after the command's end.
  const known = recentFailures.findLast((failure) => failure.code === error.exitCode && stderr.trimEnd().endsWith(failure.stderrTail.trimEnd()))
  const tail = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '').slice(-2)
  const status = error.signal !== null ? `was killed by ${error.signal}` : error.exitCode === null ? 'could not run' : `exited ${error.exitCode}`
  const what = known === undefined ? 'a local command ($)' : `local \`${shorten(known.text)}\``
  const root = projectRootIfLoaded()
  return {
    message: `${what} ${status}${tail.length > 0 ? `: ${tail.join(' / ')}` : ''}`,
    at: known?.trace === undefined || root === undefined ? undefined : thrownAt(known.trace, root),
  }
}

/** An error the deployfile's code threw, as shown: a failed `$` as a failed command is, anything else by its message; with the deployfile line it came from, when known. */
export function describeThrown(error: unknown): { message: string; at: string | undefined } {
  return describeLocalFailure(error) ?? { message: errorMessage(error), at: thrownAt(error) }
}
