// Names of the files in the agent's run directory (`--state DIR`), and the pid file record. Pure.
//   tracker.pid  tracker.log  tracker.events.jsonl          whitelist/<info hash>
//   seed.TAG.pid seed.TAG.log seed.TAG.events.jsonl seed.TAG.stats.json   (peer.TAG.* alike)
import { join } from 'node:path'
import { PROCESS_KINDS, type ProcessKind, type ProcessRef } from '../protocol.ts'

export interface ProcessFiles {
  pid: string
  log: string
  events: string
  stats: string
}

/** What follows `KIND.TAG` in the name of each of a daemon's files. */
export const PROCESS_FILE_SUFFIXES: Readonly<ProcessFiles> = { pid: '.pid', log: '.log', events: '.events.jsonl', stats: '.stats.json' }

export function processFiles(state: string, kind: ProcessKind, tag?: string): ProcessFiles {
  const stem = join(state, kind === 'tracker' || tag === undefined ? kind : `${kind}.${tag}`)
  const { pid, log, events, stats } = PROCESS_FILE_SUFFIXES
  return { pid: `${stem}${pid}`, log: `${stem}${log}`, events: `${stem}${events}`, stats: `${stem}${stats}` }
}

export function whitelistDirectory(state: string): string {
  return join(state, 'whitelist')
}

/** `seed.Deploy1.pid` → seed/Deploy1; anything that is not a pid file name → undefined. */
export function parsePidFileName(name: string): { kind: ProcessKind; tag?: string } | undefined {
  if (name === 'tracker.pid') return { kind: 'tracker' }
  const match = /^(seed|peer)\.(.+)\.pid$/.exec(name)
  if (!match?.[1] || !match[2]) return undefined
  return { kind: match[1] as ProcessKind, tag: match[2] }
}

/** What a pid file holds: enough to tell our daemon from an unrelated process that reused the pid. */
export interface PidRecord extends ProcessRef {
  /** The daemon's argv after the node binary, as /proc/PID/cmdline shows it. */
  argv: string[]
  /**
   * The arguments that tell a transfer's daemons apart (peer.ts's daemonArguments). Where absent
   * (a pid file of an older agent) they are the end of argv.
   */
  daemonArgs?: string[]
  /** The torrent a transfer's daemon serves: a tag packed again is another transfer under the same arguments. */
  infoHash?: string
  startedAt: string
}

export function formatPidRecord(record: PidRecord): string {
  return `${JSON.stringify(record)}\n`
}

export function parsePidRecord(text: string): PidRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  const { pid, kind, tag, argv, daemonArgs, infoHash, startedAt } = record
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1) return undefined
  if (typeof kind !== 'string' || !(PROCESS_KINDS as readonly string[]).includes(kind)) return undefined
  if (!isStringArray(argv)) return undefined
  return {
    pid,
    kind: kind as ProcessKind,
    ...(typeof tag === 'string' ? { tag } : {}),
    argv: argv as string[],
    ...(isStringArray(daemonArgs) ? { daemonArgs } : {}),
    ...(typeof infoHash === 'string' ? { infoHash } : {}),
    startedAt: typeof startedAt === 'string' ? startedAt : '',
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((word) => typeof word === 'string')
}

/**
 * True when a process's command line (NUL-separated /proc/PID/cmdline) is the daemon the record
 * describes. argv[0] is skipped: it is the node binary, which may be named differently.
 */
export function isSameCommandLine(record: PidRecord, cmdline: string): boolean {
  const words = cmdline.split('\0')
  if (words.at(-1) === '') words.pop()
  const actual = words.slice(1)
  return actual.length === record.argv.length && actual.every((word, index) => word === record.argv[index])
}
