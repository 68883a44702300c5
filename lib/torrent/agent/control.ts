// `allow`, `stop` and `status`: the tracker's whitelist and the daemons' pid and stats files.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AgentEvent, ProcessKind, ProcessRef, SwarmStats } from '../protocol.ts'
import { listPidFiles, readPidFile, stopDaemon, type PidFile } from './processes.ts'
import { whitelistDirectory } from './state-files.ts'

export async function allowTorrent(state: string, infoHash: string): Promise<Extract<AgentEvent, { type: 'allowed' }>> {
  const directory = whitelistDirectory(state)
  await mkdir(directory, { recursive: true })
  await writeFile(join(directory, infoHash), '')
  return { type: 'allowed', infoHash }
}

/** Stops the daemons of a kind: one tag, or all of them (`tag` undefined). The tracker has no tag. */
export async function stopProcesses(state: string, kind: ProcessKind, tag: string | undefined): Promise<Extract<AgentEvent, { type: 'stopped' }>> {
  const files: PidFile[] = []
  if (kind === 'tracker' || tag !== undefined) {
    const file = await readPidFile(state, kind, kind === 'tracker' ? undefined : tag)
    if (file) files.push(file)
  } else {
    files.push(...(await listPidFiles(state, kind)))
  }
  const stopped: ProcessRef[] = []
  const stale: ProcessRef[] = []
  await Promise.all(
    files.map(async (file) => {
      if (await stopDaemon(file)) stopped.push(file.ref)
      else stale.push(file.ref)
    })
  )
  return { type: 'stopped', stopped, stale, notRunning: stopped.length === 0 }
}

export async function readStatus(state: string): Promise<Extract<AgentEvent, { type: 'status' }>> {
  const files = await listPidFiles(state)
  const stats: SwarmStats[] = []
  const names = await readdir(state).catch(() => [] as string[])
  for (const name of names.filter((entry) => /^(seed|peer)\..+\.stats\.json$/.test(entry)).sort()) {
    const text = await readFile(join(state, name), 'utf8').catch(() => '')
    try {
      stats.push(JSON.parse(text) as SwarmStats)
    } catch {
      // Being rewritten right now; the next status has it.
    }
  }
  return {
    type: 'status',
    running: files.filter((file) => file.isRunning).map((file) => file.ref),
    stale: files.filter((file) => !file.isRunning).map((file) => file.ref),
    stats,
  }
}
