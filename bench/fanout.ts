// Murder against a plain SFTP fan-out, on the farm of real sshd hosts: a random (incompressible)
// file of S MiB starts on the controller and must reach every host; every link, the controller's
// too, is capped to the same rate B. Both transports run in the same session, on the same farm,
// and the ratio printed is of the two times measured here.
//
//   scp fan-out: `scp` (SFTP protocol) from the controller to every host at once.
//   murder:      `scp` to the seeder (h01) once, then one `deploy` run of murder:create_torrent,
//                murder:start_seeding, murder:peer and murder:stop_seeding (path_is_file=1);
//                "swarm alone" is that `deploy` run (the file already on the seeder, as in Murder).
//                The agent install and the tracker start are set-up, done once, not timed.
//
// Both end when every host holds the file; the SHA-256 of every copy is checked after each run.
// Run (root; brings the farm up and down):
//   node --import tsx bench/fanout.ts [--hosts 8,16] [--rate 100mbit] [--size 50] [--runs 1]
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { farmHosts, readOnHost } from '../test/helpers/farm.ts'

const REPO = join(import.meta.dirname, '..')
const SSH_CONFIG = join(REPO, '.farm/ssh_config')
const REMOTE_FILE = '/srv/bench/payload.bin'

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '8' },
    rate: { type: 'string', default: '100mbit' },
    size: { type: 'string', default: '50' },
    runs: { type: 'string', default: '1' },
  },
})
const hostCounts = values.hosts.split(',').map(Number)
const sizeMiB = Number(values.size)
const runs = Number(values.runs)
if (hostCounts.some((count) => !(count >= 2 && count <= 250)) || !(sizeMiB > 0) || !(runs >= 1)) {
  console.error('usage: bench/fanout.ts [--hosts 8,16] [--rate 100mbit] [--size 50] [--runs 1]')
  process.exit(2)
}
const rateBps = parseRate(values.rate)

function parseRate(rate: string): number {
  const match = /^(\d+)(kbit|mbit|gbit)$/i.exec(rate)
  if (!match) throw new Error(`rate "${rate}" is not understood; write e.g. 100mbit`)
  const unit = { kbit: 1e3, mbit: 1e6, gbit: 1e9 }[(match[2] ?? '').toLowerCase() as 'kbit' | 'mbit' | 'gbit']
  return (Number(match[1]) * unit) / 8
}

function sh(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr.slice(-2000)}`)
  return result.stdout
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr}`))))
  })
}

const deploy = (...args: string[]) => run('node', ['bin/deploy.js', 'farm', ...args])
const scpTo = (local: string, host: string) => run('scp', ['-q', '-F', SSH_CONFIG, local, `${host}:${REMOTE_FILE}`])

async function timed(block: () => Promise<void>): Promise<number> {
  const started = performance.now()
  await block()
  return (performance.now() - started) / 1000
}

function prepareHosts(hosts: string[]): void {
  for (const host of hosts) readOnHost(host, 'rm -rf /srv/bench /tmp/Bench*.tgz* && mkdir -p /srv/bench')
}

function verify(hosts: string[], digest: string, what: string): void {
  for (const host of hosts) {
    const remote = readOnHost(host, `sha256sum < ${REMOTE_FILE}`).split(' ')[0]
    if (remote !== digest) throw new Error(`${what}: ${host} holds a different file (${remote})`)
  }
}

interface Times {
  scp: number
  /** From the controller: the upload to the seeder, then the swarm. */
  murder: number
  /** The swarm alone, the file already on the seeder (Murder's own starting point). */
  swarm: number
}

async function measure(count: number, local: string, digest: string): Promise<Times> {
  sh('bash', ['test/farm/farm.sh', 'down'], 'farm down')
  sh('bash', ['test/farm/farm.sh', 'up', String(count), '--rate', values.rate], 'farm up')
  const hosts = farmHosts()
  const [seeder = ''] = hosts
  await deploy('murder:distribute_files')
  await deploy('murder:start_tracker')
  const scpTimes: number[] = []
  const murderTimes: number[] = []
  const swarmTimes: number[] = []
  try {
    for (let round = 1; round <= runs; round++) {
      prepareHosts(hosts)
      scpTimes.push(await timed(() => Promise.all(hosts.map((host) => scpTo(local, host))).then(() => undefined)))
      verify(hosts, digest, 'scp')

      prepareHosts(hosts)
      const tag = `Bench${count}-${round}-${Date.now()}`
      const upload = await timed(() => scpTo(local, seeder))
      swarmTimes.push(
        await timed(async () => {
          await deploy(
            'murder:create_torrent', 'murder:start_seeding', 'murder:peer', 'murder:stop_seeding',
            `tag=${tag}`, `files_path=${REMOTE_FILE}`, 'path_is_file=1', `destination_path=${REMOTE_FILE}`,
            'unsafe_please_delete=1', 'peer_seed_seconds=0', 'do_not_download_torrent=1', '--quiet'
          )
        })
      )
      murderTimes.push(upload + (swarmTimes.at(-1) ?? NaN))
      rmSync(`/tmp/${tag}.tgz.torrent`, { force: true })
      verify(hosts, digest, 'murder')
      console.error(`  ${count} hosts, round ${round}: scp ${scpTimes.at(-1)?.toFixed(1)} s, murder ${murderTimes.at(-1)?.toFixed(1)} s (swarm ${swarmTimes.at(-1)?.toFixed(1)} s)`)
    }
  } finally {
    await deploy('murder:stop_tracker').catch(() => undefined)
  }
  return { scp: median(scpTimes), murder: median(murderTimes), swarm: median(swarmTimes) }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN
}

const work = join(REPO, 'bench/results')
mkdirSync(work, { recursive: true })
const local = join(work, `payload-${sizeMiB}MiB.bin`)
const payload = randomBytes(sizeMiB * 1024 * 1024)
writeFileSync(local, payload)
const digest = createHash('sha256').update(payload).digest('hex')
const oneLink = (sizeMiB * 1024 * 1024) / rateBps

const rows: string[] = []
try {
  for (const count of hostCounts) {
    const { scp, murder, swarm } = await measure(count, local, digest)
    const cells = [`${scp.toFixed(1)} s`, `${murder.toFixed(1)} s`, `${swarm.toFixed(1)} s`, `${(scp / murder).toFixed(2)}×`, (murder / oneLink).toFixed(2), (swarm / oneLink).toFixed(2)]
    rows.push(`| ${count} | ${cells.join(' | ')} |`)
  }
} finally {
  sh('bash', ['test/farm/farm.sh', 'down'], 'farm down')
}
console.log(`\n${sizeMiB} MiB random file, every link ${values.rate}, S/B = ${oneLink.toFixed(2)} s, median of ${runs} run(s)\n`)
console.log('| hosts | scp fan-out | murder (upload to seeder + swarm) | swarm alone | scp ÷ murder | murder ÷ (S/B) | swarm ÷ (S/B) |')
console.log('|---|---|---|---|---|---|---|')
for (const row of rows) console.log(row)
