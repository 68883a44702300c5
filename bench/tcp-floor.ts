// The floor under any Node swarm on this farm: every host sends S MiB to its --fanout successors on
// a ring and receives S MiB from its predecessors over plain TCP (bench/tcp-floor/mesh-peer.ts),
// every link capped with tc at the same rate as in bench/distribute.ts, with no protocol, no
// hashing, no pieces. What the machine's CPU spends per 100 MiB delivered here is the least any
// Node peer could spend; bench/distribute.ts prints what ours and aria2c spend on the same farm.
//
// Run (root; brings the farm up and down):
//   node --import tsx bench/tcp-floor.ts --rate 25mbit --hosts 16,32,48 [--size 50] [--fanout 4] [--sink]
// --sink also writes every received byte to a file on the host, as a peer stores its pieces.
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { farmHosts } from '../test/helpers/farm.ts'
import { hostFile } from './distribute/farm-files.ts'
import { farm, farmAddress, REPO } from './distribute/methods.ts'
import { cpuTimesSince, machineCpuTimes } from './distribute/machine-cpu.ts'
import { failUsage, rateBytesPerSecond, withUsage } from './usage.ts'

const USAGE = 'bench/tcp-floor.ts [--hosts 16,32,48] [--rate 25mbit] [--size 50] [--fanout 4] [--sink] [--perf-stat]'
const { values } = withUsage(USAGE, () => parseArgs({
  options: {
    hosts: { type: 'string', default: '16,32,48' },
    rate: { type: 'string', default: '25mbit' },
    size: { type: 'string', default: '50' },
    fanout: { type: 'string', default: '4' },
    sink: { type: 'boolean', default: false },
    // Also counts the machine's system calls, context switches and page faults during the transfer.
    'perf-stat': { type: 'boolean', default: false },
  },
}))
const hostCounts = values.hosts.split(',').map(Number)
const sizeMiB = Number(values.size)
const fanout = Number(values.fanout)
if (hostCounts.some((count) => !(Number.isInteger(count) && count >= 2 && count <= 250))) failUsage(USAGE, `--hosts ${values.hosts}: each count from 2 to 250`)
if (!(sizeMiB > 0)) failUsage(USAGE, `--size ${values.size} is not a size in MiB above 0`)
if (!(Number.isInteger(fanout) && fanout >= 1)) failUsage(USAGE, `--fanout ${values.fanout} is not a whole number of at least 1`)
const bytesPerSecond = rateBytesPerSecond(USAGE, values.rate)
const sizeBytes = sizeMiB * 1024 * 1024
const oneLinkSeconds = sizeBytes / bytesPerSecond
const PORT = 7411
const SINK = '/tmp/tcp-floor.bin'
const PEER = join(REPO, 'bench/tcp-floor/mesh-peer.ts')

/** Every mesh peer and perf still running: killed when a run fails, so that nothing outlives the farm. */
const running = new Set<ChildProcess>()

function track(child: ChildProcess): void {
  running.add(child)
  child.on('exit', () => running.delete(child))
}

interface Peer {
  host: string
  child: ChildProcessWithoutNullStreams
  receivedMs?: number
  exited: Promise<number | null>
}

function startPeer(host: string, successors: string[]): Promise<Peer> {
  const args = ['netns', 'exec', `murder-${host}`, process.execPath, '--import', 'tsx', PEER, String(PORT), String(sizeBytes), successors.join(',')]
  if (values.sink) args.push(hostFile(host, SINK))
  const child = spawn('ip', args, { cwd: REPO })
  track(child)
  const peer: Peer = { host, child, exited: new Promise((resolve) => child.on('exit', resolve)) }
  child.stderr.on('data', (data: Buffer) => process.stderr.write(`${host}: ${data}`))
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'listening') resolve(peer)
      const received = /^received (\d+)$/.exec(line)
      if (received) peer.receivedMs = Number(received[1])
    })
    child.on('exit', (code) => reject(new Error(`${host}: the mesh peer exited ${code} before listening`)))
  })
}

const PERF_EVENTS = ['read', 'write', 'writev', 'epoll_wait', 'futex'].map((call) => `syscalls:sys_enter_${call}`).concat('context-switches', 'page-faults')

/** `perf stat -a` until stop(), which returns its counts. */
async function startPerfStat(): Promise<{ stop: () => Promise<string> }> {
  const child = spawn('perf', ['stat', '-a', '-e', PERF_EVENTS.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] })
  track(child)
  let report = ''
  child.stderr.on('data', (data: Buffer) => (report += data))
  await new Promise((resolve) => setTimeout(resolve, 500)) // perf opens its counters
  return {
    stop: () => new Promise((resolve) => {
      child.on('exit', () => resolve(report.split('\n').filter((line) => /^\s+[\d,]+\s/.test(line)).join('\n')))
      child.kill('SIGINT')
    }),
  }
}

/** Resolves once every peer has exited 0; rejects at the first that did not, or after `limitMs`. */
function allDone(peers: Peer[], limitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = peers.length
    const timer = setTimeout(() => reject(new Error(`${peers.length} hosts: not done in ${limitMs / 1000} s`)), limitMs)
    for (const peer of peers) {
      void peer.exited.then((code) => {
        if (code !== 0) {
          clearTimeout(timer)
          reject(new Error(`${peer.host}: the mesh peer exited ${code}`))
        } else if (--left === 0) {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  })
}

const rows: string[] = []
try {
  for (const count of hostCounts) {
    farm('down')
    farm('up', String(count), '--rate', values.rate)
    const hosts = farmHosts()
    const successorsOf = (index: number) => Array.from({ length: Math.min(fanout, count - 1) }, (_, step) => farmAddress(hosts[(index + step + 1) % count] ?? ''))
    const peers = await Promise.all(hosts.map((host, index) => startPeer(host, successorsOf(index))))
    const perf = values['perf-stat'] ? await startPerfStat() : undefined
    const cpuAtStart = machineCpuTimes()
    const startedAt = performance.now()
    for (const peer of peers) peer.child.stdin.write('go\n')
    await allDone(peers, 30_000 * oneLinkSeconds)
    const seconds = (performance.now() - startedAt) / 1000
    const cpu = cpuTimesSince(cpuAtStart)
    if (perf) console.error(await perf.stop())
    const receivedSeconds = peers.map((peer) => (peer.receivedMs ?? NaN) / 1000).sort((a, b) => a - b)
    const slowest = receivedSeconds.at(-1) ?? NaN
    const median = receivedSeconds[Math.floor((receivedSeconds.length - 1) / 2)] ?? NaN
    const deliveredMiB = count * sizeMiB
    const perHundred = (cpu.busySeconds / deliveredMiB) * 100
    const busyShare = cpu.busySeconds / (cpu.busySeconds + cpu.idleSeconds)
    rows.push(`| ${count} | ${median.toFixed(1)} / ${slowest.toFixed(1)} s (${(slowest / oneLinkSeconds).toFixed(2)}× S/B) | ${perHundred.toFixed(1)} (${(busyShare * 100).toFixed(0)}%) |`)
    console.error(`  ${count} hosts: hosts received all in ${receivedSeconds.map((value) => value.toFixed(1)).join(' ')} s (all exited ${seconds.toFixed(1)} s), ${perHundred.toFixed(1)} CPU-s per 100 MiB, cores ${(busyShare * 100).toFixed(0)}% busy`)
    if (values.sink) for (const host of hosts) rmSync(hostFile(host, SINK), { force: true })
  }
} finally {
  for (const child of running) child.kill('SIGKILL')
  farm('down')
}
console.log(`\nPlain TCP mesh, ${sizeMiB} MiB per host from ${fanout} senders, links ${values.rate}${values.sink ? ', written to disk' : ''}, S/B = ${oneLinkSeconds.toFixed(2)} s\n`)
console.log('| hosts | hosts done: median / last | machine CPU-s per 100 MiB delivered (cores busy) |\n|---|---|---|')
console.log(rows.join('\n'))
