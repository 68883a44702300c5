// The contract between the murder agent (lib/torrent/agent, bundled to one file and run on every
// host) and the controller: each agent command prints JSON lines on stdout, one event per line,
// and daemons keep their counters in `<state>/<kind>[.<tag>].stats.json`. Pure: no I/O here.

export const AGENT_VERSION = '0.1.0'

/**
 * Node's flags for a process that moves a payload (the seed and peer daemons, and a `peer --hold`
 * command, which is its own daemon). V8 starts a full mark-compact whenever the old generation's
 * room falls below the young generation's, and with a 10 MB heap that room is ~12 MB of promoted
 * buffers (cached pieces, blocks waiting for their piece): 18-20 full GCs per 50 MiB peer on the
 * farm, ~0.7 s apart. A 64 MB initial old space leaves 1; 8% less CPU on 16 farm hosts at 100 Mbit.
 * It cannot be set once the process runs, so it goes on the command line.
 */
export const TRANSFER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64']

/**
 * glibc's malloc tunables for the same processes, in GLIBC_TUNABLES. Each block and each piece read
 * back for a peer is a fresh buffer of 128-256 KiB, and buffers promoted to the old generation are
 * freed only by the rare full GC, so a peer's memory keeps growing into new pages that the kernel
 * faults in one by one: ~25,000 page faults per 50 MiB peer, each ~10 µs of CPU on the farm's
 * virtual machine. In huge pages (`hugetlb=1`: glibc >= 2.35, transparent huge pages not `never`)
 * ~8,000-14,000, with the buffers also from a heap that is kept (mmap threshold 4 MiB, trim
 * threshold 256 MiB) ~6,000; the thresholds alone did little for peers. A glibc without a tunable
 * skips it; other C libraries ignore the variable.
 */
export const TRANSFER_GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=268435456'

/** GLIBC_TUNABLES for a transfer process: ours first, so that a host's own settings, parsed later, win. */
export function withTransferTunables(existing: string | undefined): string {
  if (!existing) return TRANSFER_GLIBC_TUNABLES
  return existing.startsWith(TRANSFER_GLIBC_TUNABLES) ? existing : `${TRANSFER_GLIBC_TUNABLES}:${existing}`
}

/**
 * The same for a command run on a host: `sh -c TRANSFER_ENV_SCRIPT NODE ARGS…` sets it, the host's own
 * value kept after ours, and execs the command (same pid), whatever the login shell is.
 */
export const TRANSFER_ENV_SCRIPT = `export GLIBC_TUNABLES=${TRANSFER_GLIBC_TUNABLES}\${GLIBC_TUNABLES:+:\$GLIBC_TUNABLES}; exec "$0" "$@"`

export type ProcessKind = 'tracker' | 'seed' | 'peer'
export const PROCESS_KINDS: readonly ProcessKind[] = ['tracker', 'seed', 'peer']

/** A daemon as named by its pid file; `tag` is absent for the tracker. */
export interface ProcessRef {
  kind: ProcessKind
  tag?: string
  pid: number
}

/** What a peer knows about its transfer; `fromSeederBytes + fromPeersBytes` is the payload it received. */
export interface TransferCounters {
  downloadedBytes: number
  totalBytes: number
  uploadedBytes: number
  fromSeederBytes: number
  fromPeersBytes: number
  downRateBps: number
  upRateBps: number
  /** Open connections. */
  wires: number
}

export interface WireStats {
  address: string
  /** Remote peer id, hex. */
  peerId: string
  isSeeder: boolean
  isOutgoing: boolean
  uploadedBytes: number
  downloadedBytes: number
}

/** The stats file of a seeder or a peer, rewritten about every second and at exit. */
export interface SwarmStats {
  kind: 'seed' | 'peer'
  tag: string
  infoHash: string
  pid: number
  updatedAt: string
  totalBytes: number
  downloadedBytes: number
  uploadedBytes: number
  fromSeederBytes: number
  fromPeersBytes: number
  /** Open connections now. */
  wires: number
  /** Second connections to an already connected peer, closed (swarm tuning a). */
  duplicateWiresClosed: number
  /** Addresses refused because they were this agent's own (swarm tuning b). */
  selfDialsRefused: number
  /** Peers whose blocks kept failing the piece hash, disconnected for good (bad-piece-guard.ts). */
  peersBanned: number
  /** Every connection this process had, open or closed, with its payload bytes. */
  peers: WireStats[]
}

export type AgentEvent =
  /** `wasRunning`: a daemon started earlier with the same arguments, left be. */
  | { type: 'started'; kind: ProcessKind; pid: number; tag?: string; port?: number; infoHash?: string; wasRunning?: true }
  | {
      type: 'torrent'
      infoHash: string
      sha256: string
      sizeBytes: number
      pieceLengthBytes: number
      pieces: number
      payloadPath: string
      torrentPath: string
    }
  | { type: 'allowed'; infoHash: string }
  | ({ type: 'progress' } & TransferCounters)
  | ({ type: 'done'; elapsedMs: number; sha256: string } & TransferCounters)
  | { type: 'failed'; message: string }
  /** `removed`: the files `peer --hold` deleted after stopping its daemon. */
  | { type: 'stopped'; stopped: ProcessRef[]; stale: ProcessRef[]; notRunning: boolean; removed?: string[] }
  | { type: 'status'; running: ProcessRef[]; stale: ProcessRef[]; stats: SwarmStats[] }
  | { type: 'version'; agentVersion: string; nodeVersion: string }
  /** A held command's answer to an `unpack` request (agent/unpack-request.ts); `warnings`: what tar said. */
  | { type: 'unpacked'; into: string; renamedTo?: string; warnings?: string[] }
  | { type: 'unpackFailed'; message: string }

export type AgentEventType = AgentEvent['type']

/**
 * Besides `stop`, what the controller may ask of a held transfer command (`peer --hold`, `seed
 * --hold`) on its stdin once it is ready: put the payload it holds into `into`, answered with
 * `unpacked` or `unpackFailed`. One line, `unpack JSON`.
 */
export interface UnpackRequest {
  /** An absolute directory, made if missing. */
  into: string
  /** Once unpacked, `into` is renamed to this absolute path (deploy: the release's). */
  renameTo?: string
  /** Remove `into` first (murder:peer's unsafe_please_delete). */
  emptyFirst?: boolean
  /** The payload is encrypted: its key line (agent/payload-cipher.ts), sent nowhere but here. */
  keyLine?: string
}

const UNPACK_REQUEST_PREFIX = 'unpack '

/** Whether a stdin line is an unpack request (well formed or not), rather than `stop` or another. */
export function isUnpackRequest(line: string): boolean {
  return line.startsWith(UNPACK_REQUEST_PREFIX)
}

export function formatUnpackRequest(request: UnpackRequest): string {
  return `${UNPACK_REQUEST_PREFIX}${JSON.stringify(request)}`
}

/**
 * A stdin line as an unpack request; undefined for any other line. Throws on a malformed one, with a
 * message that quotes none of it (it may hold a key).
 */
export function parseUnpackRequest(line: string): UnpackRequest | undefined {
  if (!isUnpackRequest(line)) return undefined
  let value: unknown
  try {
    value = JSON.parse(line.slice(UNPACK_REQUEST_PREFIX.length))
  } catch {
    throw new Error('an unpack request that is not JSON')
  }
  if (!isRecord(value)) throw new Error('an unpack request that is not a JSON object')
  const { into, renameTo, emptyFirst, keyLine } = value
  const isAbsolute = (path: unknown): path is string => typeof path === 'string' && path.startsWith('/') && !path.includes('\0')
  if (!isAbsolute(into)) throw new Error('an unpack request needs "into", an absolute path')
  if (renameTo !== undefined && !isAbsolute(renameTo)) throw new Error('an unpack request\'s "renameTo" must be an absolute path')
  if (emptyFirst !== undefined && typeof emptyFirst !== 'boolean') throw new Error('an unpack request\'s "emptyFirst" must be true or false')
  if (keyLine !== undefined && typeof keyLine !== 'string') throw new Error('an unpack request\'s "keyLine" must be a string')
  return { into, ...(renameTo === undefined ? {} : { renameTo }), ...(emptyFirst === undefined ? {} : { emptyFirst }), ...(keyLine === undefined ? {} : { keyLine }) }
}

export function formatEvent(event: AgentEvent): string {
  return JSON.stringify(event)
}

const COUNTER_FIELDS = ['downloadedBytes', 'totalBytes', 'uploadedBytes', 'fromSeederBytes', 'fromPeersBytes', 'downRateBps', 'upRateBps', 'wires'] as const

/** One stdout line into an event; anything else (a log line, a torn line, a foreign type) is `undefined`. */
export function parseEvent(line: string): AgentEvent | undefined {
  if (!line.startsWith('{')) return undefined
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  if (!isRecord(value)) return undefined
  switch (value['type']) {
    case 'started':
      return isKind(value['kind']) && isCount(value['pid']) ? (value as AgentEvent) : undefined
    case 'torrent':
      return isHex(value['infoHash'], 40) && isHex(value['sha256'], 64) && isCount(value['sizeBytes']) && isCount(value['pieces'])
        ? (value as AgentEvent)
        : undefined
    case 'allowed':
      return isHex(value['infoHash'], 40) ? (value as AgentEvent) : undefined
    case 'progress':
      return hasCounters(value) ? (value as AgentEvent) : undefined
    case 'done':
      return hasCounters(value) && isCount(value['elapsedMs']) && isHex(value['sha256'], 64) ? (value as AgentEvent) : undefined
    case 'failed':
      return typeof value['message'] === 'string' ? (value as AgentEvent) : undefined
    case 'stopped':
      return isRefList(value['stopped']) && isRefList(value['stale']) && typeof value['notRunning'] === 'boolean' && isOptionalStringList(value['removed'])
        ? (value as AgentEvent)
        : undefined
    case 'status':
      return isRefList(value['running']) && isRefList(value['stale']) && Array.isArray(value['stats']) ? (value as AgentEvent) : undefined
    case 'version':
      return typeof value['agentVersion'] === 'string' && typeof value['nodeVersion'] === 'string' ? (value as AgentEvent) : undefined
    case 'unpacked':
      return typeof value['into'] === 'string' && (value['renamedTo'] === undefined || typeof value['renamedTo'] === 'string') && isOptionalStringList(value['warnings'])
        ? (value as AgentEvent)
        : undefined
    case 'unpackFailed':
      return typeof value['message'] === 'string' ? (value as AgentEvent) : undefined
    default:
      return undefined
  }
}

/** The counters of a `progress` or `done` event, zeros for a bare event. */
export function countersOf(event: AgentEvent): TransferCounters {
  const zero: TransferCounters = { downloadedBytes: 0, totalBytes: 0, uploadedBytes: 0, fromSeederBytes: 0, fromPeersBytes: 0, downRateBps: 0, upRateBps: 0, wires: 0 }
  if (event.type !== 'progress' && event.type !== 'done') return zero
  const counters = { ...zero }
  for (const field of COUNTER_FIELDS) counters[field] = event[field]
  return counters
}

function isOptionalStringList(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'))
}

function hasCounters(value: Record<string, unknown>): boolean {
  return COUNTER_FIELDS.every((field) => isCount(value[field]))
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function isHex(value: unknown, length: number): boolean {
  return typeof value === 'string' && value.length === length && /^[0-9a-f]+$/.test(value)
}

function isKind(value: unknown): value is ProcessKind {
  return typeof value === 'string' && (PROCESS_KINDS as readonly string[]).includes(value)
}

function isRefList(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => isRecord(item) && isKind(item['kind']) && isCount(item['pid']))
}
