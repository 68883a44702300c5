// Under --dry-run, zx's `$` (a task's local shell) prints each command as `local $ …` and runs
// `true` in its place, so a dry run changes nothing here either. Built-ins that must still read
// this machine (packing the release from git) pass node's `spawn` to `$` themselves.
import { spawn, spawnSync } from 'node:child_process'
import { $ } from 'zx/core'
import type { Reporter } from '../report/events.ts'

/** Makes `$` print instead of run, for the rest of the process (a dry run's). */
export function printLocalCommands(reporter: Reporter): void {
  const say = (command: unknown) => {
    const text = String(command)
    const prefix = $.prefix ?? ''
    reporter.emit({ type: 'command', host: 'local', command: prefix !== '' && text.startsWith(prefix) ? text.slice(prefix.length) : text })
  }
  $.spawn = ((command: string, _args: unknown, options: Parameters<typeof spawn>[2]) => {
    say(command)
    // Not in the command's cwd: a directory an earlier (faked) command would have made is not there.
    return spawn('true', [], { ...options, cwd: undefined, shell: false })
  }) as typeof $.spawn
  $.spawnSync = ((command: string, _args: unknown, options: Parameters<typeof spawnSync>[2]) => {
    say(command)
    return spawnSync('true', [], { ...options, cwd: undefined, shell: false })
  }) as typeof $.spawnSync
}
