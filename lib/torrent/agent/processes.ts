// Finding, checking and stopping the agent's daemons through their pid files. A pid counts as our
// daemon only while /proc/PID/cmdline still shows the argv recorded at start, so a recycled pid
// (or a zombie) is reported stale and never signalled.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ProcessKind, ProcessRef } from '../protocol.ts'
import { isSameCommandLine, parsePidFileName, parsePidRecord, processFiles, type PidRecord } from './state-files.ts'

const STOP_GRACE_MS = 5000
const KILL_WAIT_MS = 2000
const POLL_MS = 100

export interface PidFile {
  path: string
  ref: ProcessRef
  record: PidRecord | undefined
  isRunning: boolean
}

export async function readPidFile(state: string, kind: ProcessKind, tag?: string): Promise<PidFile | undefined> {
  const path = processFiles(state, kind, tag).pid
  const text = await readFile(path, 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  const record = parsePidRecord(text)
  const ref: ProcessRef = { kind, ...(tag === undefined ? {} : { tag }), pid: record?.pid ?? 0 }
  return { path, ref, record, isRunning: record !== undefined && isRunning(record) }
}

/** Every pid file in the run directory, optionally only those of one kind. */
export async function listPidFiles(state: string, kind?: ProcessKind): Promise<PidFile[]> {
  const names = await readdir(state).catch(() => [] as string[])
  const found: PidFile[] = []
  for (const name of names.sort()) {
    const parsed = parsePidFileName(name)
    if (!parsed || (kind !== undefined && parsed.kind !== kind)) continue
    const file = await readPidFile(state, parsed.kind, parsed.tag)
    if (file) found.push(file)
  }
  return found
}

export function isRunning(record: PidRecord): boolean {
  try {
    process.kill(record.pid, 0)
  } catch {
    return false
  }
  const cmdline = readCommandLine(record.pid)
  return cmdline !== undefined && isSameCommandLine(record, cmdline)
}

/** This process's command line as a pid record holds it (after the node binary). */
export function ownCommandLine(): string[] {
  const words = readCommandLine(process.pid)?.split('\0')
  if (words?.at(-1) === '') words.pop()
  return words ? words.slice(1) : [...process.execArgv, ...process.argv.slice(1)]
}

function readCommandLine(pid: number): string | undefined {
  if (existsSync('/proc/self/cmdline')) {
    try {
      return readFileSync(join('/proc', String(pid), 'cmdline'), 'utf8')
    } catch {
      return undefined
    }
  }
  // No /proc (macOS, BSD): `ps` joins argv with spaces, so rebuild a comparable NUL-separated line.
  const ps = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
  return ps.status === 0 ? ps.stdout.trim().split(' ').join('\0') : undefined
}

/** SIGTERM, then SIGKILL after a grace period; removes the pid file. Says whether a live daemon was stopped. */
export async function stopDaemon(file: PidFile): Promise<boolean> {
  const record = file.record
  const wasRunning = record !== undefined && isRunning(record)
  if (record && wasRunning) {
    signal(record.pid, 'SIGTERM')
    if (!(await waitForExit(record, STOP_GRACE_MS))) {
      signal(record.pid, 'SIGKILL')
      await waitForExit(record, KILL_WAIT_MS)
    }
  }
  await removePidFile(file.path, record?.pid)
  return wasRunning
}

/** Removes the pid file unless it now names another process (a daemon started meanwhile). */
export async function removePidFile(path: string, pid: number | undefined): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  if (text === undefined) return
  const current = parsePidRecord(text)
  if (current && pid !== undefined && current.pid !== pid) return
  await rm(path, { force: true })
}

export async function waitForExit(record: PidRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isRunning(record)) return true
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  return !isRunning(record)
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // Already gone.
  }
}
