// One file to every host of a farm of real sshd hosts (test/farm/farm.sh), every link, the
// controller's too, capped with tc to the same rate B: ours (the murder:* flow and `deploy` over
// murder or copy) against parallel-scp, Capistrano's upload! and aria2c + opentracker + mktorrent,
// all in one run, so every ratio printed is of times measured together. Centralized methods are
// bound by the controller's link (N × S/B): they run up to --central-max hosts and are predicted
// linearly beyond. Each copy's SHA-256 is checked after every run.
//
// Run (root; brings the farm up and down; needs apt packages pssh, capistrano, aria2, opentracker,
// mktorrent):
//   node --import tsx bench/distribute.ts --rate 25mbit --hosts 8,16,32,48     (link-bound)
//   node --import tsx bench/distribute.ts --rate 100mbit --hosts 8,16,32       (CPU-bound)
//   options: --size 50 (MiB)  --runs 1 (rounds, each running every method once; medians reported)
//            --central-max 8  --methods murder,deploy-murder,...
// Writes bench/results/distribute-RATE-HOSTS.{md,json,svg}.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { farmHosts } from '../test/helpers/farm.ts'
import { hostFile } from './distribute/farm-files.ts'
import { cleanHosts, exec, farm, METHODS, placeOnSeeder, REPO, type Context, type Method } from './distribute/methods.ts'
import { cpuTimesSince, machineCpuTimes } from './distribute/machine-cpu.ts'
import { formatTables, writeChart, writeJson, type Cell, type Setting } from './distribute/report.ts'
import { failUsage, rateBytesPerSecond, withUsage } from './usage.ts'

const USAGE = 'bench/distribute.ts [--hosts 8,16] [--rate 25mbit] [--size 50] [--runs 1] [--central-max 8] [--methods a,b] [--queue BYTES]'
const { values } = withUsage(USAGE, () => parseArgs({
  options: {
    hosts: { type: 'string', default: '8,16' },
    rate: { type: 'string', default: '25mbit' },
    size: { type: 'string', default: '50' },
    runs: { type: 'string', default: '1' },
    'central-max': { type: 'string', default: '8' },
    methods: { type: 'string', default: METHODS.map((method) => method.name).join(',') },
    // Every link's tbf queue in bytes; farm.sh's default holds 400 ms at the rate.
    queue: { type: 'string' },
  },
}))
const hostCounts = values.hosts.split(',').map(Number)
const sizeMiB = Number(values.size)
const runs = Number(values.runs)
const centralMax = Number(values['central-max'])
const methods = values.methods.split(',').map((name) => {
  const method = METHODS.find((candidate) => candidate.name === name)
  if (!method) return failUsage(USAGE, `unknown method "${name}"; pick from ${METHODS.map((candidate) => candidate.name).join(', ')}`)
  return method
})
const queueBytes = values.queue
if (hostCounts.some((count) => !(Number.isInteger(count) && count >= 2 && count <= 250))) failUsage(USAGE, `--hosts ${values.hosts}: each count from 2 to 250`)
if (!(sizeMiB > 0)) failUsage(USAGE, `--size ${values.size} is not a size in MiB above 0`)
if (!(runs >= 1) || !(centralMax >= 1)) failUsage(USAGE, '--runs and --central-max take numbers of at least 1')
if (queueBytes !== undefined && !/^[1-9]\d*$/.test(queueBytes)) failUsage(USAGE, `--queue ${queueBytes} is not a size in bytes`)
const oneLinkSeconds = (sizeMiB * 1024 * 1024) / rateBytesPerSecond(USAGE, values.rate)

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path).on('error', reject).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex')))
  })
}

async function verify(method: Method, hosts: string[], remotePath: (host: string) => string, digest: string): Promise<void> {
  for (const host of hosts) {
    const got = await sha256OfFile(hostFile(host, remotePath(host))).catch(() => 'missing')
    if (got !== digest) throw new Error(`${method.name}: ${host} holds a different file at ${remotePath(host)} (${got})`)
  }
}

function median(numbers: number[]): number {
  const sorted = numbers.filter((n) => Number.isFinite(n)).sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN
}

const results = join(REPO, 'bench/results')
mkdirSync(results, { recursive: true })
const payload = randomBytes(sizeMiB * 1024 * 1024)
const localFile = join(results, `payload-${sizeMiB}MiB.bin`)
writeFileSync(localFile, payload)
const digest = createHash('sha256').update(payload).digest('hex')
const releaseDir = mkdtempSync('/tmp/murder-bench-release-')
writeFileSync(join(releaseDir, 'payload.bin'), payload)
// The example deployfile's deploy:verify looks for the app's package.json.
writeFileSync(join(releaseDir, 'package.json'), '{ "name": "bench-release", "private": true }\n')
const localTgz = join(results, `release-${sizeMiB}MiB.tgz`)
await exec('tar', ['-czf', localTgz, '-C', releaseDir, 'payload.bin', 'package.json'])

/** One timed run of a method; a failed run is reported, recorded in `failures` and left out. */
async function measure(method: Method, context: Context, round: number): Promise<Cell | undefined> {
  const count = context.hosts.length
  cleanHosts(context.hosts)
  placeOnSeeder(context.hosts[0] ?? '', context.localFile)
  try {
    const cpuAtStart = machineCpuTimes()
    const outcome = await method.run(context)
    const cpu = cpuTimesSince(cpuAtStart)
    const receivers = method.name === 'murder' || method.name === 'aria2c' ? context.hosts.slice(1) : context.hosts
    await verify(method, receivers, outcome.remotePath, digest)
    const steps = Object.entries(outcome.steps ?? {}).map(([step, seconds]) => `, ${step} ${seconds.toFixed(1)} s`).join('')
    console.error(`  ${count} hosts, ${method.name}, run ${round}: ${outcome.seconds.toFixed(1)} s${steps}, ${cpu.busySeconds.toFixed(1)} CPU-s (kernel ${cpu.kernelSeconds.toFixed(1)})`)
    return {
      method: method.name,
      label: method.label,
      hosts: count,
      seconds: outcome.seconds,
      isMeasured: true,
      medianHostSeconds: median(outcome.hostSeconds),
      slowestHostSeconds: Math.max(...outcome.hostSeconds),
      ...(outcome.steps ? { steps: outcome.steps } : {}),
      ...(outcome.controllerPeakMiB === undefined ? {} : { controllerPeakMiB: outcome.controllerPeakMiB }),
      machineBusyCpuSeconds: cpu.busySeconds,
      machineKernelCpuSeconds: cpu.kernelSeconds,
      machineIdleCpuSeconds: cpu.idleSeconds,
      deliveredMiB: receivers.length * sizeMiB,
    }
  } catch (error) {
    // One failed run is reported and left out; the rest of the matrix still runs.
    failures.push(`${count} hosts, ${method.name}, run ${round}: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`)
    console.error(`  ${failures.at(-1)}`)
    return undefined
  }
}

const setting: Setting = { sizeMiB, rate: values.rate, oneLinkSeconds, runs, hostCounts }
const stem = join(results, `distribute-${values.rate}-${hostCounts.join("-")}`)
const cells: Cell[] = []
const failures: string[] = []
try {
  for (const count of hostCounts) {
    farm('down')
    farm('up', String(count), '--rate', values.rate)
    if (queueBytes) farm('rate', 'all', values.rate, 'both', queueBytes)
    const hosts = farmHosts()
    await exec('node', ['bin/deploy.js', 'farm', 'murder:distribute_files', '-q'])
    const context: Context = { hosts, localFile, localTgz, limitS: 30 * oneLinkSeconds + 120 }
    const runnable = methods.filter((method) => !(method.isCentralized && count > centralMax))
    // Round by round, every method once: the machine's speed drifts over minutes (other tenants,
    // memory handed back to the hypervisor), and each method's median should meet the same drift.
    const measured = new Map<string, Cell[]>(runnable.map((method) => [method.name, []]))
    for (let round = 1; round <= runs; round++) {
      for (const method of runnable) {
        const cell = await measure(method, context, round)
        if (cell) measured.get(method.name)?.push(cell)
      }
    }
    for (const method of runnable) {
      const ranked = (measured.get(method.name) ?? []).sort((a, b) => a.seconds - b.seconds)
      const chosen = ranked[Math.floor((ranked.length - 1) / 2)]
      if (chosen) cells.push(chosen)
    }
    writeJson(`${stem}.json`, setting, cells) // kept as it grows, should a later size fail
  }
} finally {
  farm('down')
}

// Centralized methods beyond --central-max: N × the per-host time at the largest N measured.
for (const method of methods.filter((candidate) => candidate.isCentralized)) {
  const largest = cells.filter((cell) => cell.method === method.name).sort((a, b) => b.hosts - a.hosts)[0]
  if (!largest) continue
  for (const count of hostCounts.filter((hosts) => hosts > largest.hosts)) {
    cells.push({ method: method.name, label: method.label, hosts: count, seconds: (largest.seconds / largest.hosts) * count, isMeasured: false })
  }
}
cells.sort((a, b) => methods.findIndex((m) => m.name === a.method) - methods.findIndex((m) => m.name === b.method) || a.hosts - b.hosts)

const tables = formatTables(setting, cells)
writeFileSync(`${stem}.md`, `${tables}\n`)
writeJson(`${stem}.json`, setting, cells)
await writeChart(`${stem}.svg`, setting, cells)
console.log(`\n${tables}\n\nwritten: ${stem}.md, ${stem}.json, ${stem}.svg`)
if (failures.length > 0) {
  console.log(`\nfailed runs (left out):\n${failures.join('\n')}`)
  process.exitCode = 1
}
