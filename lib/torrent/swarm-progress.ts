import { formatBytes, formatDuration } from '../report/format.ts'

/** What a peer reports while it downloads (a subset of the agent's `progress`/`done` lines). */
export interface PeerCounters {
  downloadedBytes: number
  totalBytes: number
  fromSeederBytes: number
  fromPeersBytes: number
  uploadedBytes: number
  downRateBps: number
}

interface HostState extends PeerCounters {
  startedAt: number
  finishedAt: number | undefined
  failure: string | undefined
}

/** Aggregates every peer's counters into the live view and the closing per-host table. Pure but for the clock. */
export class SwarmProgress {
  private readonly hosts = new Map<string, HostState>()

  constructor(
    hostNames: readonly string[],
    private readonly now: () => number = Date.now
  ) {
    for (const name of hostNames) {
      this.hosts.set(name, {
        downloadedBytes: 0,
        totalBytes: 0,
        fromSeederBytes: 0,
        fromPeersBytes: 0,
        uploadedBytes: 0,
        downRateBps: 0,
        startedAt: now(),
        finishedAt: undefined,
        failure: undefined,
      })
    }
  }

  update(host: string, counters: PeerCounters): void {
    const state = this.hosts.get(host)
    if (state) Object.assign(state, counters)
  }

  finish(host: string, counters?: PeerCounters): void {
    const state = this.hosts.get(host)
    if (!state) return
    if (counters) Object.assign(state, counters)
    state.finishedAt = this.now()
    state.downRateBps = 0
  }

  fail(host: string, message: string): void {
    const state = this.hosts.get(host)
    if (state) {
      state.failure = message
      state.finishedAt = this.now()
    }
  }

  /** The live view: hosts done, aggregate and slowest rate, and where the bytes came from. */
  render(): string[] {
    const states = [...this.hosts.values()]
    const done = states.filter((s) => s.finishedAt !== undefined && s.failure === undefined).length
    const failed = states.filter((s) => s.failure !== undefined).length
    const running = states.filter((s) => s.finishedAt === undefined)
    const total = states.reduce((sum, s) => sum + s.totalBytes, 0)
    const received = states.reduce((sum, s) => sum + s.downloadedBytes, 0)
    const fromSeeder = states.reduce((sum, s) => sum + s.fromSeederBytes, 0)
    const fromPeers = states.reduce((sum, s) => sum + s.fromPeersBytes, 0)
    const aggregate = running.reduce((sum, s) => sum + s.downRateBps, 0)
    const slowest = running.length > 0 ? Math.min(...running.map((s) => s.downRateBps)) : 0
    const percent = total > 0 ? Math.floor((received / total) * 100) : 0
    return [
      `murder:peer ${done}/${states.length} hosts done${failed > 0 ? `, ${failed} failed` : ''}, ${percent}% of bytes` +
        ` · ${rate(aggregate)} total, slowest ${rate(slowest)}` +
        ` · from seeder ${formatBytes(fromSeeder)}, from peers ${formatBytes(fromPeers)}`,
    ]
  }

  /** One line per host once the swarm is done. */
  summary(): string[] {
    const rows = [...this.hosts].map(([name, s]) => {
      const elapsedMs = (s.finishedAt ?? this.now()) - s.startedAt
      if (s.failure !== undefined) return `  ${name}  failed after ${formatDuration(elapsedMs)}: ${s.failure}`
      const meanRate = elapsedMs > 0 ? (s.downloadedBytes * 1000) / elapsedMs : 0
      return (
        `  ${name}  ${formatDuration(elapsedMs)}  ${rate(meanRate)}` +
        `  from seeder ${formatBytes(s.fromSeederBytes)}, from peers ${formatBytes(s.fromPeersBytes)}, sent ${formatBytes(s.uploadedBytes)}`
      )
    })
    return ['murder:peer per host:', ...rows]
  }
}

function rate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}
