// A task's local shell is zx's `$`. Its commands and output are shown like a host's, as `local $ …`,
// `local | …` (stdout) and `local ! …` (stderr), through the run's reporter: so `-q` hides them and
// secrets are masked, as on hosts (zx alone prints nothing, or its stderr straight to the terminal).
// Under --dry-run `$` runs `true` in place of each command. Built-ins pass node's `spawn` and
// `quiet` to `$` themselves: a dry run still packs the release, and no run prints their commands.
import { spawn, spawnSync } from 'node:child_process'
import { $, type LogEntry } from 'zx/core'
import type { Reporter } from '../report/events.ts'
import { LineSplitter } from '../report/line-splitter.ts'

const LOCAL = 'local'

/**
 * Shows every `$` command (unless `.quiet()` or `$({ quiet: true })`) and its output through the
 * reporter `reporterNow()` returns when the line comes. Called before the deployfile loads, so that
 * a deployfile setting `$.verbose = false` silences its commands as zx documents.
 */
export function reportLocalCommands(reporterNow: () => Reporter): void {
  const running = new Map<string, LocalCommand>()
  const commandOf = (id: string, text = '') => {
    let command = running.get(id)
    if (command === undefined) {
      const emitLine = (stream: 'stdout' | 'stderr') => (line: string) => reporterNow().emit({ type: 'output', host: LOCAL, stream, line })
      command = { text, stdout: new LineSplitter(emitLine('stdout')), stderr: new LineSplitter(emitLine('stderr')) }
      running.set(id, command)
    }
    return command
  }
  $.verbose = true
  $.log = (entry: LogEntry) => {
    switch (entry.kind) {
      case 'cmd':
        if (!entry.verbose) return
        commandOf(entry.id, entry.cmd)
        reporterNow().emit({ type: 'command', host: LOCAL, command: entry.cmd })
        return
      case 'stdout':
      case 'stderr':
        if (entry.verbose) commandOf(entry.id)[entry.kind].push(entry.data)
        return
      case 'end': {
        const command = running.get(entry.id)
        if (command === undefined) return
        running.delete(entry.id)
        command.stdout.end()
        command.stderr.end()
        reporterNow().emit({ type: 'command-end', host: LOCAL, command: command.text, code: entry.exitCode, durationMs: entry.duration })
        return
      }
      default:
        return
    }
  }
}

interface LocalCommand {
  text: string
  stdout: LineSplitter
  stderr: LineSplitter
}

/** Makes `$` run `true` in place of each command, for the rest of the process (a dry run's): `reportLocalCommands` still prints them. */
export function fakeLocalCommands(): void {
  // Not in the command's cwd: a directory an earlier (faked) command would have made is not there.
  $.spawn = ((_command: string, _args: unknown, options: Parameters<typeof spawn>[2]) => spawn('true', [], { ...options, cwd: undefined, shell: false })) as typeof $.spawn
  $.spawnSync = ((_command: string, _args: unknown, options: Parameters<typeof spawnSync>[2]) => spawnSync('true', [], { ...options, cwd: undefined, shell: false })) as typeof $.spawnSync
}
