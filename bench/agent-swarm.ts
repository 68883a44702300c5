// The agent's swarm on loopback: tracker, seeder and N peers as real processes. Prints, for one
// peer alone and then N peers, the time until every peer had the payload and how many copies of it
// the seeder sent (median of `runs`). Parts of the tuning can be turned off to compare, e.g.
// MURDER_AGENT_STOCK=super-seed (see lib/torrent/agent/tuning-switch.ts).
// Run: node --import tsx bench/agent-swarm.ts [peers=6] [sizeMiB=50] [linkMbit=0] [runs=1]
import { join } from 'node:path'
import { processCpuSeconds } from './distribute/machine-cpu.ts'
import { failUsage } from './usage.ts'
import { agentProcesses, readStats, runPeers, startSwarm, stopSwarm, TAG } from '../test/helpers/local-swarm.ts'

const USAGE = 'bench/agent-swarm.ts [peers=6] [sizeMiB=50] [linkMbit=0] [runs=1]'
const peers = Number(process.argv[2] ?? 6)
const sizeBytes = Number(process.argv[3] ?? 50) * 1024 * 1024
const linkMbit = Number(process.argv[4] ?? 0)
const runs = Number(process.argv[5] ?? 1)
if (!(Number.isInteger(peers) && peers >= 1) || !(sizeBytes > 0) || !(linkMbit >= 0) || !(Number.isInteger(runs) && runs >= 1)) {
  failUsage(USAGE, `"${process.argv.slice(2).join(' ')}" is not peers (at least 1), a size in MiB (above 0), a link in Mbit/s (0: none) and runs (at least 1)`)
}
const linkBps = linkMbit > 0 ? (linkMbit * 1e6) / 8 : undefined

interface Measure {
  seconds: number
  seederCopies: number
  fromPeersShare: number
  /** Second connections closed, own addresses refused, connections made (counted from both ends). */
  duplicates: number
  selfDials: number
  wires: number
  /** CPU-seconds the swarm's daemons (tracker, seeder, peers) used, start-up included. */
  daemonCpuSeconds: number
}

/** CPU-seconds of a daemon, 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    return processCpuSeconds(pid)
  } catch {
    return 0
  }
}

async function measure(count: number): Promise<Measure> {
  const setup = await startSwarm({ sizeBytes, ...(linkBps ? { linkBps } : {}) })
  const results = await runPeers(setup, count, 30) // seeding on until stopped, so every daemon is alive when its CPU is read
  const failed = results.filter((result) => result.code !== 0)
  if (failed.length > 0) throw new Error(`peers failed: ${failed.map((result) => result.stderr.trim()).join(' | ')}`)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const seeder = readStats(join(setup.seedState, `seed.${TAG}.stats.json`))
  const everyone = [seeder, ...results.map((result) => readStats(join(result.state, `peer.${TAG}.stats.json`)))]
  const duplicates = everyone.reduce((sum, stats) => sum + stats.duplicateWiresClosed, 0)
  const selfDials = everyone.reduce((sum, stats) => sum + stats.selfDialsRefused, 0)
  const wires = everyone.reduce((sum, stats) => sum + stats.peers.length, 0) / 2
  let fromSeeder = 0
  let fromPeers = 0
  for (const result of results) {
    const done = result.events.find((event) => event.type === 'done')
    if (done?.type === 'done') {
      fromSeeder += done.fromSeederBytes
      fromPeers += done.fromPeersBytes
    }
  }
  const daemonCpuSeconds = agentProcesses(setup).reduce((sum, line) => sum + cpuSeconds(Number(line.split(' ')[0])), 0)
  await stopSwarm(setup, results.map((result) => result.state))
  const seconds = Math.max(...results.map((result) => result.elapsedMs)) / 1000
  return { seconds, seederCopies: seeder.uploadedBytes / sizeBytes, fromPeersShare: fromPeers / (fromSeeder + fromPeers), duplicates, selfDials, wires, daemonCpuSeconds }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

const single = await measure(1)
const swarms = []
for (let run = 0; run < runs; run++) swarms.push(await measure(peers))
const seconds = median(swarms.map((swarm) => swarm.seconds))
const daemonCpuSeconds = median(swarms.map((swarm) => swarm.daemonCpuSeconds))
console.log(`payload ${sizeBytes / 1048576} MiB, link ${linkMbit > 0 ? `${linkMbit} Mbit/s` : 'unlimited (loopback)'}, stock: ${process.env['MURDER_AGENT_STOCK'] ?? 'none'}`)
console.log(`1 peer:  ${single.seconds.toFixed(2)} s`)
console.log(
  `${peers} peers (median of ${runs}): ${seconds.toFixed(2)} s = ${(seconds / single.seconds).toFixed(2)}x one copy; ` +
    `seeder sent ${median(swarms.map((swarm) => swarm.seederCopies)).toFixed(2)} copies; ` +
    `peers got ${(median(swarms.map((swarm) => swarm.fromPeersShare)) * 100).toFixed(0)}% from each other` +
    `; connections ${median(swarms.map((swarm) => swarm.wires))}, duplicates closed ${median(swarms.map((swarm) => swarm.duplicates))}, ` +
    `own address refused ${median(swarms.map((swarm) => swarm.selfDials))}` +
    `; daemons' CPU ${daemonCpuSeconds.toFixed(2)} s = ${((daemonCpuSeconds * 100 * 1048576) / (sizeBytes * peers)).toFixed(2)} CPU-s per 100 MiB delivered` +
    ` [runs: ${swarms.map((swarm) => `${swarm.seconds.toFixed(1)} s/${swarm.seederCopies.toFixed(2)}/${swarm.daemonCpuSeconds.toFixed(1)} CPU-s`).join(', ')}]`
)
