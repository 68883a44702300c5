// A daemon's events, followed from its events file by the command that started it (or follows it).
import { watch, type FSWatcher } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import { parseEvent, type AgentEvent } from '../protocol.ts'
import { isRunning } from './processes.ts'
import type { PidRecord } from './state-files.ts'

/** Where the events file cannot be watched: how often a follower looks at it. */
const FOLLOW_POLL_MS = 150
/** How often a follower makes sure its daemon still runs (and, watching, looks at the file anyway). */
const ALIVE_CHECK_MS = 1000
export type FollowEnd = 'ended' | 'daemon-exited' | 'silent'

export interface FollowOptions {
  record: PidRecord
  /** Gets each event; returning true stops following. */
  onEvent: (event: AgentEvent) => boolean
  /** Give up when the daemon writes nothing for this long. */
  silenceLimitMs: number
  /** Skip events already in the file (attaching to a running daemon mid-way still replays them). */
  fromOffset?: number
}

/**
 * Tails the daemon's events file until `onEvent` says stop, the daemon exits, or it falls silent.
 * It wakes when the file changes (inotify), not on a timer: every host runs one follower for the
 * whole transfer, and polling every 150 ms (open, read, close, a /proc read) cost each 0.005
 * CPU-seconds per second, half a second per host in a 48-host run on the farm's shared cores.
 */
export async function followEvents(path: string, options: FollowOptions): Promise<FollowEnd> {
  let offset = options.fromOffset ?? 0
  let pending = ''
  const decoder = new StringDecoder('utf8')
  const buffer = Buffer.alloc(64 * 1024)
  let lastEventAt = Date.now()
  let checkedAliveAt = Date.now()
  let handle: FileHandle | undefined
  let hasChanged = false
  let wake: (() => void) | undefined
  let isWatching = false
  const watcher = watchQuietly(
    path,
    () => {
      hasChanged = true
      wake?.()
    },
    () => (isWatching = false)
  )
  isWatching = watcher !== undefined
  const readNew = async (): Promise<boolean> => {
    handle ??= await open(path, 'r').catch(() => undefined)
    if (!handle) return false
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset)
      if (bytesRead === 0) return false
      offset += bytesRead
      pending += decoder.write(buffer.subarray(0, bytesRead))
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const event = parseEvent(line)
        if (!event) continue
        lastEventAt = Date.now()
        if (options.onEvent(event)) return true
      }
    }
  }
  try {
    for (;;) {
      hasChanged = false
      if (await readNew()) return 'ended'
      if (Date.now() - checkedAliveAt >= ALIVE_CHECK_MS) {
        checkedAliveAt = Date.now()
        if (!isRunning(options.record)) return (await readNew()) ? 'ended' : 'daemon-exited'
      }
      if (Date.now() - lastEventAt > options.silenceLimitMs) return 'silent'
      if (!hasChanged) await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          wake = undefined
          resolve()
        }
        const timer = setTimeout(done, isWatching ? ALIVE_CHECK_MS : FOLLOW_POLL_MS)
        wake = done
      })
    }
  } finally {
    watcher?.close()
    await handle?.close()
  }
}

/** An inotify watch on `path`, or undefined where none can be had (polling then stands in). */
function watchQuietly(path: string, onChange: () => void, onError: () => void): FSWatcher | undefined {
  try {
    const watcher = watch(path, { persistent: false }, onChange)
    watcher.on('error', () => {
      watcher.close()
      onError()
    })
    return watcher
  } catch {
    return undefined
  }
}
