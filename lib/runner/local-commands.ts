// A task's local shell is zx's `$`. Its commands are shown like a host's, as `local $ …`, through
// the run's reporter, so that `-q` hides them and secrets are masked as on hosts; what they print
// to stderr as `local ! …` (zx prints it too), to stdout as `local | …` under --verbose only: `$`
// is also how a task reads things (a token from a vault), as `capture`, whose output is not shown.
// Under --dry-run `$` runs `true` in place of each command. The deploy's own `$` commands (packing
// the release) have a log of their own and run for real in a dry run (release-source.ts).
import { spawn, spawnSync } from 'node:child_process'
import { $, type LogEntry } from 'zx/core'
import type { Reporter } from '../report/events.ts'
import { LineSplitter } from '../report/line-splitter.ts'

const LOCAL = 'local'

interface LocalCommand {
  text: string
  stdout: LineSplitter
  stderr: LineSplitter
}

/**
 * Shows `$` commands and their output through `reporter`. Called before the deployfile loads, so that one setting `$.verbose = false` silences its
 * commands' lines as zx documents. A command run quiet (`$({ quiet: true })`, `$.verbose = false`)
 * is shown as `capture`'s are: under --verbose and --dry-run.
 */
export function reportLocalCommands(reporter: Reporter, { showsStdout }: { showsStdout: boolean }): void {
  const running = new Map<string, LocalCommand>()
  const commandOf = (id: string, text = '') => {
    let command = running.get(id)
    if (command === undefined) {
      const emitLine = (stream: 'stdout' | 'stderr') => (line: string) => reporter.emit({ type: 'output', host: LOCAL, stream, line })
      command = { text, stdout: new LineSplitter(emitLine('stdout')), stderr: new LineSplitter(emitLine('stderr')) }
      running.set(id, command)
    }
    return command
  }
  $.verbose = true
  $.log = (entry: LogEntry) => {
    switch (entry.kind) {
      case 'cmd':
        commandOf(entry.id, entry.cmd)
        reporter.emit({ type: 'command', host: LOCAL, command: entry.cmd, ...(entry.verbose ? {} : { quiet: true }) })
        return
      case 'stdout':
        if (entry.verbose && showsStdout) commandOf(entry.id).stdout.push(entry.data)
        return
      case 'stderr':
        if (entry.verbose) commandOf(entry.id).stderr.push(entry.data)
        return
      case 'end': {
        // zx ends an unfinished last line with a newline of its own just after this entry.
        const id = entry.id
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
