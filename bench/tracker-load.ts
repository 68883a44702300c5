// The start of a deploy to a big fleet, as the tracker sees it: one tracker (the bundled agent's
// daemon, a child process on 127.0.0.1, so its RSS and CPU are its own), one origin seeder and N
// hosts announcing over HTTP the way our agents do (compact=1, numwant=8, ip= the host's address).
//   round 1: the seeder (left=0), then every host `started` while downloading;
//   round 2: every host again, in random order: a share of them `completed` (left=0, numwant=0),
//            the others a plain re-announce, still downloading.
// The seeder re-announces every --interval-s, as it would. Prints announces/s, latency, the
// tracker's memory and CPU, and how hand-outs spread: the seeder must go to a few hosts only
// (about 2√n, 8..16 at a time) and, in round 2, finished hosts must come before downloading ones.
// Numbers also go to bench/results/tracker-load.json.
// Run: node --import tsx bench/tracker-load.ts [--hosts 10000] [--concurrency 200] [--complete-share 0.5]
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { failUsage, withUsage } from './usage.ts'
import { buildAgent } from '../lib/torrent/build-agent.ts'
import { allowTorrent } from '../lib/torrent/agent/control.ts'
import { makePeerId } from '../lib/torrent/agent/peer-id.ts'
import { parseEvent } from '../lib/torrent/protocol.ts'
import { freePort } from '../test/helpers/local-swarm.ts'
import { processCpuSeconds } from './distribute/machine-cpu.ts'

const HOST = '127.0.0.1'
const REQUEST_TIMEOUT_MS = 30_000
const READY_LIMIT_MS = 15_000
const ROUND_LIMIT_MS = 45_000
const SIZE_BYTES = 100 * 1024 * 1024
const RESULTS = join(import.meta.dirname, 'results/tracker-load.json')

const USAGE = 'bench/tracker-load.ts [--hosts 10000] [--concurrency 200] [--numwant 8] [--complete-share 0.5] [--interval-s 10] [--random-seed 1]'
const { values } = withUsage(USAGE, () => parseArgs({
  options: {
    hosts: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    numwant: { type: 'string', default: '8' },
    'complete-share': { type: 'string', default: '0.5' },
    'interval-s': { type: 'string', default: '10' },
    'random-seed': { type: 'string', default: '1' },
  },
}))
const hostCount = Number(values.hosts)
const concurrency = Number(values.concurrency)
const numwant = Number(values.numwant)
const completeShare = Number(values['complete-share'])
const intervalS = Number(values['interval-s'])
if (![hostCount, concurrency, numwant, intervalS].every((n) => Number.isInteger(n) && n >= 1) || hostCount > 1_000_000) {
  failUsage(USAGE, '--hosts (at most 1,000,000), --concurrency, --numwant and --interval-s take whole numbers of at least 1')
}
if (!(completeShare >= 0 && completeShare <= 1)) failUsage(USAGE, `--complete-share ${values['complete-share']} is not a share from 0 to 1`)

// ---- simulated hosts: 0 is the origin seeder, 1..N download --------------------------------------

const BASE62 = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.length

interface SimHost {
  index: number
  ip: string
  port: number
  /** Hex, in the agent's format (`-MS0100-…`, `-MP0100-…`), the tail spelling the index. */
  peerId: string
}

function simHost(index: number): SimHost {
  const digits = (size: number) => Uint8Array.from({ length: size }, (_, i) => Math.floor(index / BASE62 ** (size - 1 - i)) % BASE62)
  const n = index + 1
  return { index, ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 1024 + (index % 64_000), peerId: makePeerId(index === 0 ? 'seed' : 'peer', digits) }
}

// Every byte not unreserved in RFC 3986 is %XX, as BitTorrent clients send info_hash and peer_id.
function escapeBinary(hex: string): string {
  return Buffer.from(hex, 'hex').reduce((text, byte) => text + (/[A-Za-z0-9._~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`), '')
}

interface Announce {
  host: SimHost
  event?: 'started' | 'completed'
  left: number
  numwant: number
}

function announcePath(infoHash: string, a: Announce): string {
  const query = [
    `info_hash=${escapeBinary(infoHash)}`,
    `peer_id=${escapeBinary(a.host.peerId)}`,
    `port=${a.host.port}`,
    'uploaded=0',
    `downloaded=${SIZE_BYTES - a.left}`,
    `left=${a.left}`,
    'compact=1',
    `numwant=${a.numwant}`,
    `ip=${a.host.ip}`,
    ...(a.event ? [`event=${a.event}`] : []),
  ]
  return `/announce?${query.join('&')}`
}

// ---- bencoded answers -----------------------------------------------------------------------------

type Decoded = number | Buffer | Decoded[] | { [key: string]: Decoded }

function decodeBencode(bytes: Buffer): Decoded {
  let at = 0
  const fail = (what: string): never => {
    throw new Error(`bad bencode at byte ${at}: ${what} in ${bytes.toString('latin1').slice(0, 200)}`)
  }
  const next = (): Decoded => {
    const byte = bytes[at]
    if (byte === undefined) return fail('unexpected end')
    if (byte === 0x69) {
      const end = bytes.indexOf(0x65, at)
      const value = Number(bytes.toString('latin1', at + 1, end))
      if (end < 0 || !Number.isSafeInteger(value)) fail('bad integer')
      at = end + 1
      return value
    }
    if (byte === 0x6c || byte === 0x64) {
      at++
      const items: Decoded[] = []
      while (bytes[at] !== 0x65) items.push(next())
      at++
      if (byte === 0x6c) return items
      const dict: { [key: string]: Decoded } = {}
      for (let i = 0; i < items.length; i += 2) {
        const key = items[i]
        if (!Buffer.isBuffer(key) || i + 1 === items.length) return fail('bad dictionary key')
        dict[key.toString('latin1')] = items[i + 1] as Decoded
      }
      return dict
    }
    const colon = bytes.indexOf(0x3a, at)
    const length = Number(bytes.toString('latin1', at, colon))
    if (colon < 0 || !Number.isSafeInteger(length) || colon + 1 + length > bytes.length) fail('bad string')
    at = colon + 1 + length
    return bytes.subarray(colon + 1, at)
  }
  const value = next()
  if (at !== bytes.length) fail('trailing bytes')
  return value
}

interface Answer {
  complete: number
  incomplete: number
  /** `ip:port` of each peer handed out. */
  peers: string[]
}

function readAnswer(body: Buffer): Answer {
  const value = decodeBencode(body)
  if (typeof value !== 'object' || Buffer.isBuffer(value) || Array.isArray(value)) throw new Error('answer is not a dictionary')
  const reason = value['failure reason']
  if (Buffer.isBuffer(reason)) throw new Error(`tracker refused: ${reason.toString()}`)
  const compact = value['peers']
  if (!Buffer.isBuffer(compact) || compact.length % 6 !== 0) throw new Error('answer has no compact peers')
  const peers: string[] = []
  for (let offset = 0; offset < compact.length; offset += 6) peers.push(`${compact.subarray(offset, offset + 4).join('.')}:${compact.readUInt16BE(offset + 4)}`)
  return { complete: Number(value['complete']), incomplete: Number(value['incomplete']), peers }
}

// ---- the tracker: bundled agent daemon, child process ---------------------------------------------

interface ProcSample {
  rssBytes: number
  peakRssBytes: number
  cpuMs: number
}

function sampleProc(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM'), cpuMs: processCpuSeconds(pid) * 1000 }
}

async function startTracker(directory: string, port: number): Promise<ChildProcess> {
  const agent = await buildAgent({ shouldForce: true, outfile: join(directory, 'murder-agent.cjs') })
  const state = join(directory, 'run')
  mkdirSync(state, { recursive: true })
  const log = openSync(join(directory, 'tracker.log'), 'a')
  const args = ['daemon', 'tracker', '--state', state, '--port', String(port), '--host', HOST, '--announce-interval-s', String(intervalS)]
  const child = spawn(process.execPath, [agent, ...args], { cwd: state, stdio: ['ignore', log, log] })
  closeSync(log)
  const events = join(state, 'tracker.events.jsonl')
  for (const deadline = Date.now() + READY_LIMIT_MS; Date.now() < deadline && child.exitCode === null; ) {
    const lines = existsSync(events) ? readFileSync(events, 'utf8').split('\n') : []
    const event = lines.map(parseEvent).find((e) => e?.type === 'started' || e?.type === 'failed')
    if (event?.type === 'started') return child
    if (event?.type === 'failed') break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`the tracker did not start; see ${join(directory, 'tracker.log')}`)
}

async function stopTracker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 6000)
  await exited
  clearTimeout(timer)
}

// ---- rounds ---------------------------------------------------------------------------------------

// xorshift32: the same plan for the same --random-seed.
function makeRandom(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
  }
  return copy
}

interface RoundStats {
  announces: number
  failed: number
  /** The first few failures. */
  failures: string[]
  wallMs: number
  latenciesMs: number[]
  /** Host index → times it was handed out in this round. */
  handedOut: Map<number, number>
  /** Hosts handed the origin seeder (distinct). */
  originHolders: Set<number>
  /** At the end of the round: hosts ever handed the origin that are still downloading (the rule allows 8..16). */
  originHoldersDownloading: number
  /** Downloading announces' hand-outs, and how many of those peers had announced `completed`. */
  handedToDownloading: number
  handedCompleteToDownloading: number
  /** Sum over downloading announces of the complete share of the swarm at that time (random picking would give the mean). */
  completeShareOfSwarmSum: number
  downloadingAnnounces: number
  selfHandOuts: number
  lastAnswer?: Answer
  tracker: ProcSample
}

interface Context {
  infoHash: string
  port: number
  agent: Agent
  trackerPid: number
  hostsByAddress: Map<string, number>
  /** Hosts whose `completed` announce the tracker has answered. */
  completed: Set<number>
  /** Hosts ever handed the origin seeder. */
  originHolders: Set<number>
}

function get(context: Context, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port: context.port, path, agent: context.agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve(Buffer.concat(chunks)))
      res.on('error', reject)
    })
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)))
    req.on('error', reject)
    req.end()
  })
}

async function runRound(context: Context, plan: readonly Announce[], seederAnnounce: Announce): Promise<RoundStats> {
  const stats: RoundStats = {
    announces: 0,
    failed: 0,
    failures: [],
    wallMs: 0,
    latenciesMs: [],
    handedOut: new Map(),
    originHolders: new Set(),
    originHoldersDownloading: 0,
    handedToDownloading: 0,
    handedCompleteToDownloading: 0,
    completeShareOfSwarmSum: 0,
    downloadingAnnounces: 0,
    selfHandOuts: 0,
    tracker: sampleProc(context.trackerPid),
  }
  const send = async (a: Announce): Promise<void> => {
    const completeShareOfSwarm = context.completed.size / hostCount
    const startedAt = performance.now()
    try {
      const answer = readAnswer(await get(context, announcePath(context.infoHash, a)))
      stats.latenciesMs.push(performance.now() - startedAt)
      stats.lastAnswer = answer
      if (a.event === 'completed') context.completed.add(a.host.index)
      for (const address of answer.peers) {
        const index = context.hostsByAddress.get(address) ?? -1
        stats.handedOut.set(index, (stats.handedOut.get(index) ?? 0) + 1)
        if (index === a.host.index) stats.selfHandOuts++
        if (index === 0) {
          stats.originHolders.add(a.host.index)
          context.originHolders.add(a.host.index)
        }
        if (a.left > 0 && index > 0 && context.completed.has(index)) stats.handedCompleteToDownloading++
      }
      if (a.left > 0) {
        stats.handedToDownloading += answer.peers.length
        stats.completeShareOfSwarmSum += completeShareOfSwarm
        stats.downloadingAnnounces++
      }
    } catch (error) {
      if (++stats.failed <= 5) stats.failures.push(`${a.host.ip}: ${(error as Error).message}`)
    } finally {
      stats.announces++
    }
  }

  const startedAt = performance.now()
  const deadline = startedAt + ROUND_LIMIT_MS
  await send(seederAnnounce)
  const seederUpdates: Promise<void>[] = []
  const seederTimer = setInterval(() => seederUpdates.push(send({ host: seederAnnounce.host, left: 0, numwant: 0 })), intervalS * 1000)
  let next = 0
  const worker = async () => {
    while (next < plan.length && performance.now() < deadline) await send(plan[next++] as Announce)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, plan.length) }, worker))
  clearInterval(seederTimer)
  await Promise.all(seederUpdates)
  stats.wallMs = performance.now() - startedAt
  if (next < plan.length) stats.failures.push(`round stopped after ${ROUND_LIMIT_MS / 1000} s with ${plan.length - next} announces unsent`)
  stats.tracker = sampleProc(context.trackerPid)
  stats.originHoldersDownloading = [...context.originHolders].filter((index) => !context.completed.has(index)).length
  return stats
}

// ---- report ---------------------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN
}

function summarize(stats: RoundStats, before: ProcSample, idle: ProcSample) {
  const sorted = [...stats.latenciesMs].sort((a, b) => a - b)
  const peerCounts = Array.from({ length: hostCount }, (_, i) => stats.handedOut.get(i + 1) ?? 0).sort((a, b) => a - b)
  const cpuMs = stats.tracker.cpuMs - before.cpuMs
  return {
    announces: stats.announces,
    failedAnnounces: stats.failed,
    failures: stats.failures,
    wallS: stats.wallMs / 1000,
    announcesPerS: stats.announces / (stats.wallMs / 1000),
    latencyP50Ms: percentile(sorted, 0.5),
    latencyP99Ms: percentile(sorted, 0.99),
    latencyMaxMs: sorted.at(-1) ?? NaN,
    trackerCpuS: cpuMs / 1000,
    trackerCpuUsPerAnnounce: (cpuMs * 1000) / stats.announces,
    trackerRssMiB: stats.tracker.rssBytes / 2 ** 20,
    trackerPeakRssMiB: stats.tracker.peakRssBytes / 2 ** 20,
    rssKiBPerHost: stats.tracker.rssBytes / 1024 / (hostCount + 1),
    rssAboveIdleKiBPerHost: (stats.tracker.rssBytes - idle.rssBytes) / 1024 / (hostCount + 1),
    swarmSizeTrackerReports: stats.lastAnswer ? stats.lastAnswer.complete + stats.lastAnswer.incomplete : NaN,
    originHandedOut: stats.handedOut.get(0) ?? 0,
    originDistinctHolders: stats.originHolders.size,
    originHoldersDownloadingAtEnd: stats.originHoldersDownloading,
    maxHandOutsOfAPeer: peerCounts.at(-1) ?? 0,
    medianHandOutsOfAPeer: percentile(peerCounts, 0.5),
    medianHandOutsOfAPeerHandedOut: percentile(peerCounts.filter((count) => count > 0), 0.5),
    peersPerDownloadingAnnounce: stats.handedToDownloading / stats.downloadingAnnounces,
    completeShareOfHandOuts: stats.handedToDownloading ? stats.handedCompleteToDownloading / stats.handedToDownloading : 0,
    completeShareIfRandom: stats.downloadingAnnounces ? stats.completeShareOfSwarmSum / stats.downloadingAnnounces : 0,
    selfHandOuts: stats.selfHandOuts,
  }
}

const directory = mkdtempSync('/tmp/murder-tracker-load-')
const infoHash = createHash('sha1').update('murder bench/tracker-load').digest('hex')
await allowTorrent(join(directory, 'run'), infoHash)
const port = await freePort(HOST)
const tracker = await startTracker(directory, port)
try {
  const hosts = Array.from({ length: hostCount + 1 }, (_, index) => simHost(index))
  const seeder = hosts[0] as SimHost
  const context: Context = {
    infoHash,
    port,
    agent: new Agent({ keepAlive: true, maxSockets: concurrency + 1 }),
    trackerPid: tracker.pid ?? 0,
    hostsByAddress: new Map(hosts.map((host) => [`${host.ip}:${host.port}`, host.index])),
    completed: new Set(),
    originHolders: new Set(),
  }
  const random = makeRandom(Number(values['random-seed']))
  const peers = hosts.slice(1)
  const finishing = new Set(shuffled(peers, random).slice(0, Math.round(completeShare * hostCount)))
  const seederAnnounce: Announce = { host: seeder, event: 'started', left: 0, numwant: 0 }
  const idle = sampleProc(context.trackerPid)

  const round1 = await runRound(context, peers.map((host) => ({ host, event: 'started', left: SIZE_BYTES, numwant })), seederAnnounce)
  const round2Plan = shuffled(peers, random).map((host): Announce => (finishing.has(host) ? { host, event: 'completed', left: 0, numwant: 0 } : { host, left: SIZE_BYTES / 2, numwant }))
  const round2 = await runRound(context, round2Plan, { ...seederAnnounce, event: undefined })
  context.agent.destroy()

  const results = {
    measuredAt: new Date().toISOString(),
    node: process.versions.node,
    stock: process.env['MURDER_AGENT_STOCK'] ?? '',
    hosts: hostCount,
    concurrency,
    numwant,
    completeShare,
    trackerIdle: { rssMiB: idle.rssBytes / 2 ** 20, peakRssMiB: idle.peakRssBytes / 2 ** 20 },
    round1: summarize(round1, idle, idle),
    round2: summarize(round2, round1.tracker, idle),
  }
  mkdirSync(join(RESULTS, '..'), { recursive: true })
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`)

  const r1 = results.round1
  const r2 = results.round2
  const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–')
  const rows: [string, string, string][] = [
    ['announces (failed)', `${r1.announces} (${r1.failedAnnounces})`, `${r2.announces} (${r2.failedAnnounces})`],
    ['announces/s', f(r1.announcesPerS), f(r2.announcesPerS)],
    ['latency p50 / p99 ms', `${f(r1.latencyP50Ms, 1)} / ${f(r1.latencyP99Ms, 1)}`, `${f(r2.latencyP50Ms, 1)} / ${f(r2.latencyP99Ms, 1)}`],
    ['tracker CPU µs per announce', f(r1.trackerCpuUsPerAnnounce), f(r2.trackerCpuUsPerAnnounce)],
    ['tracker RSS / peak MiB', `${f(r1.trackerRssMiB, 1)} / ${f(r1.trackerPeakRssMiB, 1)}`, `${f(r2.trackerRssMiB, 1)} / ${f(r2.trackerPeakRssMiB, 1)}`],
    ['RSS per host KiB (above idle)', `${f(r1.rssKiBPerHost, 1)} (${f(r1.rssAboveIdleKiBPerHost, 2)})`, `${f(r2.rssKiBPerHost, 1)} (${f(r2.rssAboveIdleKiBPerHost, 2)})`],
    ['swarm size the tracker reports', f(r1.swarmSizeTrackerReports), f(r2.swarmSizeTrackerReports)],
    ['origin handed out (to distinct hosts)', `${r1.originHandedOut} (${r1.originDistinctHolders})`, `${r2.originHandedOut} (${r2.originDistinctHolders})`],
    ['origin holders still downloading at the end', String(r1.originHoldersDownloadingAtEnd), String(r2.originHoldersDownloadingAtEnd)],
    ['hand-outs of one peer: max / median (of those handed out)', `${r1.maxHandOutsOfAPeer} / ${r1.medianHandOutsOfAPeer} (${r1.medianHandOutsOfAPeerHandedOut})`, `${r2.maxHandOutsOfAPeer} / ${r2.medianHandOutsOfAPeer} (${r2.medianHandOutsOfAPeerHandedOut})`],
    ['peers per downloading announce', f(r1.peersPerDownloadingAnnounce, 2), f(r2.peersPerDownloadingAnnounce, 2)],
    ['complete share of hand-outs (random pick)', '–', `${f(r2.completeShareOfHandOuts * 100, 1)}% (${f(r2.completeShareIfRandom * 100, 1)}%)`],
    ['hosts handed themselves', String(r1.selfHandOuts), String(r2.selfHandOuts)],
  ]
  console.log(`\n${hostCount} hosts + 1 seeder, concurrency ${concurrency}, numwant ${numwant}, round 2: ${f(completeShare * 100)}% complete; tracker idle RSS ${f(results.trackerIdle.rssMiB, 1)} MiB; stock: ${results.stock || 'none'}\n`)
  console.log('| | round 1 (started) | round 2 (completed / re-announce) |\n|---|---|---|')
  for (const [name, one, two] of rows) console.log(`| ${name} | ${one} | ${two} |`)
  for (const failure of [...r1.failures, ...r2.failures]) console.log(`failure: ${failure}`)
  console.log(`\nwritten to ${RESULTS}`)
} finally {
  await stopTracker(tracker)
  rmSync(directory, { recursive: true, force: true })
}
