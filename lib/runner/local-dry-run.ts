// Under --dry-run, zx's `$` (a task's local shell) prints each command as `local $ …` and runs
// `true` in its place, so a dry run changes nothing here either. Built-ins that must still read
// this machine (packing the release from git) pass their own `spawn` to `$`.
import { spawn, spawnSync } from 'node:child_process'
import { $ } from 'zx/core'
import type { Reporter } from '../report/events.ts'

/** The real `spawn`, for `$({ spawn: REAL_SPAWN })` in built-ins that read local state under --dry-run too. */
export const REAL_SPAWN = spawn

/** Makes `$` print instead of run, until the returned function restores it. */
export function printLocalCommands(reporter: Reporter): () => void {
  const [originalSpawn, originalSpawnSync] = [$.spawn, $.spawnSync]
  const say = (command: unknown) => {
    const text = String(command)
    const prefix = $.prefix ?? ''
    reporter.emit({ type: 'command', host: 'local', command: prefix !== '' && text.startsWith(prefix) ? text.slice(prefix.length) : text })
  }
  $.spawn = ((command: string, _args: unknown, options: Parameters<typeof spawn>[2]) => {
    say(command)
    return spawn('true', [], { ...options, shell: false })
  }) as typeof $.spawn
  $.spawnSync = ((command: string, _args: unknown, options: Parameters<typeof spawnSync>[2]) => {
    say(command)
    return spawnSync('true', [], { ...options, shell: false })
  }) as typeof $.spawnSync
  return () => {
    $.spawn = originalSpawn
    $.spawnSync = originalSpawnSync
  }
}
