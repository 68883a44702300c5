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
  /** The host's peer was already running, from an earlier run: its counters are its own since then. */
  isEarlierPeer: boolean
  /** The seeder, a target too: it holds the payload and downloads nothing. */
  isSeeder: boolean
}

/** Aggregates every peer's counters into the live view and the closing per-host table. Pure but for the clock. */
export class SwarmProgress {
  private readonly hosts = new Map<string, HostState>()
  /** When a host last received bytes or finished: a swarm quiet for long has lost its source. */
  private advancedAt: number

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
        isEarlierPeer: false,
        isSeeder: false,
      })
    }
    this.advancedAt = now()
  }

  update(host: string, counters: PeerCounters): void {
    const state = this.hosts.get(host)
    if (!state) return
    if (counters.downloadedBytes > state.downloadedBytes) this.advancedAt = this.now()
    Object.assign(state, counters)
  }

  /** The host's `peer` joined a peer an earlier run left running (seeding on): its counts are not this run's. */
  markEarlierPeer(host: string): void {
    const state = this.hosts.get(host)
    if (state) state.isEarlierPeer = true
  }

  /** The seeder among the hosts: its row says so rather than showing a download of nothing. */
  markSeeder(host: string): void {
    const state = this.hosts.get(host)
    if (state) state.isSeeder = true
  }

  finish(host: string, counters?: PeerCounters): void {
    const state = this.hosts.get(host)
    if (!state) return
    if (counters) Object.assign(state, counters)
    state.finishedAt = this.now()
    state.downRateBps = 0
    this.advancedAt = this.now()
  }

  /** Milliseconds since a host last received bytes or finished (or since `restartQuietClock`); 0 once no host is still running. */
  quietMs(): number {
    const isAnyRunning = [...this.hosts.values()].some((s) => s.finishedAt === undefined)
    return isAnyRunning ? this.now() - this.advancedAt : 0
  }

  /** Time before the swarm could move (its source still arriving) is not quiet time. */
  restartQuietClock(): void {
    this.advancedAt = this.now()
  }

  /** Where a quiet swarm stands, for the error that gives it up: `2 of 7 peers done, 31.0 MiB of 140.0 MiB received`. */
  standing(): string {
    const { done, downloaders, received, total } = this.totals()
    return `${done} of ${downloaders} peers done, ${formatBytes(received)} of ${formatBytes(total)} received`
  }

  /** Peers (hosts that download) done: the seeder, done as soon as it holds the payload, is not one. */
  private totals(): { done: number; downloaders: number; received: number; total: number } {
    const states = [...this.hosts.values()]
    const downloaders = states.filter((s) => !s.isSeeder)
    return {
      done: downloaders.filter((s) => s.finishedAt !== undefined && s.failure === undefined).length,
      downloaders: downloaders.length,
      received: states.reduce((sum, s) => sum + s.downloadedBytes, 0),
      total: states.reduce((sum, s) => sum + s.totalBytes, 0),
    }
  }

  fail(host: string, message: string): void {
    const state = this.hosts.get(host)
    if (state) {
      state.failure = message
      state.finishedAt = this.now()
    }
  }

  /** The live view: peers done, aggregate and slowest rate, and where the bytes came from. */
  render(): string[] {
    const states = [...this.hosts.values()]
    const { done, downloaders, received, total } = this.totals()
    // The seeder's own failure is said where it happens (the swarm then stalls): not a peer's.
    const failed = states.filter((s) => s.failure !== undefined && !s.isSeeder).length
    const running = states.filter((s) => s.finishedAt === undefined)
    // Where this run's bytes came from: an earlier run's peer counts what it fetched back then.
    const thisRun = this.thisRunsHosts()
    const joined = states.length - thisRun.length
    const fromSeeder = thisRun.reduce((sum, s) => sum + s.fromSeederBytes, 0)
    const fromPeers = thisRun.reduce((sum, s) => sum + s.fromPeersBytes, 0)
    const percent = total > 0 ? Math.floor((received / total) * 100) : 0
    // Live: the rates now. Once no host runs (the closing line), every rate now is 0: the mean instead.
    // No bytes moving (none yet, or the last hosts finishing up): `0 B/s total, slowest 0 B/s` read as stuck.
    const moving = running.reduce((sum, s) => sum + s.downRateBps, 0)
    const idle = received === 0 ? 'waiting for the first bytes' : 'no bytes moving this moment'
    const rates = running.length === 0 ? `mean ${rate(this.meanRate())} total` : moving === 0 ? idle : `${rate(moving)} total, slowest ${rate(Math.min(...running.map((s) => s.downRateBps)))}`
    return [
      `murder:peer ${done}/${downloaders} peers done${failed > 0 ? `, ${failed} failed` : ''}${joined > 0 ? ` (${joined} joined an earlier run's peer)` : ''}, ${percent}% of bytes` +
        ` · ${rates}` +
        ` · from seeder ${formatBytes(fromSeeder)}, from peers ${formatBytes(fromPeers)}`,
    ]
  }

  /** Bytes this run's peers received from others per second, from the first host's start to the last one's end. */
  private meanRate(): number {
    const states = [...this.hosts.values()]
    const started = Math.min(...states.map((s) => s.startedAt))
    const ended = Math.max(...states.map((s) => s.finishedAt ?? this.now()))
    // What came over the wire this run: not an earlier run's peer, nor a payload a host already held.
    const moved = this.thisRunsHosts().reduce((sum, s) => sum + overTheWire(s), 0)
    return ended > started ? (moved * 1000) / (ended - started) : 0
  }

  /** The hosts whose peer is this run's, not one an earlier run left seeding. */
  private thisRunsHosts(): HostState[] {
    return [...this.hosts.values()].filter((s) => !s.isEarlierPeer)
  }

  /** One line per host once the swarm is done. */
  summary(): string[] {
    const rows = [...this.hosts].map(([name, s]) => {
      const elapsedMs = (s.finishedAt ?? this.now()) - s.startedAt
      if (s.failure !== undefined) return `  ${name}  failed after ${formatDuration(elapsedMs)}: ${s.failure}`
      const totals = `from seeder ${formatBytes(s.fromSeederBytes)}, from peers ${formatBytes(s.fromPeersBytes)}, sent ${formatBytes(s.uploadedBytes)}`
      if (s.isSeeder) return `  ${name}  ${formatDuration(elapsedMs)}  the seeder: it held the payload and served it (its sending is in the peers' "from seeder")`
      if (s.isEarlierPeer) return `  ${name}  ${formatDuration(elapsedMs)}  joined the peer an earlier run left running; its totals: ${totals}`
      // Its payload was already there (an earlier run's, checked piece by piece): no rate to speak of.
      if (overTheWire(s) === 0 && s.downloadedBytes > 0) return `  ${name}  ${formatDuration(elapsedMs)}  held the payload already (checked), sent ${formatBytes(s.uploadedBytes)}`
      const meanRate = elapsedMs > 0 ? (overTheWire(s) * 1000) / elapsedMs : 0
      return `  ${name}  ${formatDuration(elapsedMs)}  ${rate(meanRate)}  ${totals}`
    })
    return ['murder:peer per host:', ...rows]
  }
}

/** Bytes a host received from the seeder and from peers (not what it already held). */
function overTheWire(counters: PeerCounters): number {
  return counters.fromSeederBytes + counters.fromPeersBytes
}

function rate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}
