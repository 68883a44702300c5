// A transfer's daemon leaves its log, events and stats in the run directory when it ends (what
// `status`, `peer --follow` and a person reading the log need). A deploy's tag names its release,
// so every deploy adds three files per host: a new transfer's start removes those of transfers
// that ended (no pid file) beyond the newest few of its kind.
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { PROCESS_FILE_SUFFIXES } from './state-files.ts'

/** Finished transfers of a kind whose files stay: enough to read the last deploys' logs. */
export const KEPT_FINISHED_TRANSFERS = 10

const SUFFIXES = Object.values(PROCESS_FILE_SUFFIXES)

export interface RunFile {
  name: string
  mtimeMs: number
}

/**
 * The files of `kind` transfers (`seed` or `peer`) that have ended (no pid file), beyond the `keep`
 * most recently changed ones. Pure: `files` is the run directory's listing.
 */
export function finishedTransferFiles(files: readonly RunFile[], kind: 'seed' | 'peer', keep: number): string[] {
  const transfers = new Map<string, { names: string[]; isRunning: boolean; changedMs: number }>()
  for (const file of files) {
    if (!file.name.startsWith(`${kind}.`)) continue
    const suffix = SUFFIXES.find((ending) => file.name.endsWith(ending))
    if (suffix === undefined) continue
    const tag = file.name.slice(kind.length + 1, -suffix.length)
    if (tag === '') continue
    const transfer = transfers.get(tag) ?? { names: [], isRunning: false, changedMs: 0 }
    transfer.names.push(file.name)
    transfer.isRunning ||= suffix === PROCESS_FILE_SUFFIXES.pid
    transfer.changedMs = Math.max(transfer.changedMs, file.mtimeMs)
    transfers.set(tag, transfer)
  }
  return [...transfers.values()]
    .filter((transfer) => !transfer.isRunning)
    .sort((a, b) => b.changedMs - a.changedMs)
    .slice(keep)
    .flatMap((transfer) => transfer.names)
}

/** Removes what finishedTransferFiles names; best effort: a file another start removed first is fine. */
export async function pruneFinishedTransfers(state: string, kind: 'seed' | 'peer'): Promise<void> {
  try {
    const names = await readdir(state)
    const files = await Promise.all(
      names.filter((name) => name.startsWith(`${kind}.`)).map(async (name) => ({ name, mtimeMs: (await stat(join(state, name)).catch(() => undefined))?.mtimeMs ?? 0 }))
    )
    await Promise.all(finishedTransferFiles(files, kind, KEPT_FINISHED_TRANSFERS).map((name) => rm(join(state, name), { force: true })))
  } catch {
    // Tidying must never stop a transfer from starting.
  }
}
