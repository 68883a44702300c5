// The ways of getting one file onto every farm host that bench/distribute.ts times. Each starts
// from a clean /srv/bench on every host and returns when every host holds the file; the caller
// checks each copy's SHA-256. Swarm methods start with the file on the seeder (h01), as Murder and
// every BitTorrent setup do; centralized ones start with it on the controller.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { chownSync, mkdirSync, readdirSync, rmSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { changedAtMs, hostFile } from './farm-files.ts'

export const REPO = join(import.meta.dirname, '../..')
export const SSH_CONFIG = join(REPO, '.farm/ssh_config')
const KEY = join(REPO, '.farm/id_ed25519')
const BENCH_DIR = '/srv/bench'
/** Shared by every host (only /tmp, /var/tmp, /srv, /var/www and home are private). */
const SHARED_TOOLS = '/var/lib/murder-bench'

export interface Context {
  hosts: string[]
  /** The payload on the controller. */
  localFile: string
  /** The payload packed as a release (payload.bin at its root), for `deploy`. */
  localTgz: string
  /** Seconds a bounded wait may last before the run is declared stuck. */
  limitS: number
}

export interface Outcome {
  /** From the command's start until every host held the file. */
  seconds: number
  /** Per receiving host: seconds from the start until its copy last changed. */
  hostSeconds: number[]
  /** Where each host's copy is, to verify. */
  remotePath: (host: string) => string
  /** Steps worth their own column (murder:peer), seconds. */
  steps?: Record<string, number>
  /** Our CLI's peak resident memory during the timed run. */
  controllerPeakMiB?: number
}

export interface Method {
  name: string
  label: string
  /** Bound by the controller's link: measured at small N, predicted linearly beyond. */
  isCentralized: boolean
  run(context: Context): Promise<Outcome>
}

/** Runs a command; rejects with its output's tail on a non-zero exit; resolves with its output (stdout and stderr). */
export function exec(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-100_000))
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ').slice(0, 300)} exited ${code}:\n${output.slice(-3000)}`))))
  })
}

export const ssh = (host: string, command: string) => exec('ssh', ['-F', SSH_CONFIG, host, command])
const deployCli = (...args: string[]) => exec('node', ['bin/deploy.js', 'farm', ...args])
/** Our CLI under GNU time: its output and its peak RSS. */
async function measuredDeployCli(...args: string[]): Promise<{ output: string; peakMiB: number }> {
  const output = await exec('/usr/bin/time', ['-f', 'controller-max-rss-kib %M', 'node', 'bin/deploy.js', 'farm', ...args])
  const kib = Number(/controller-max-rss-kib (\d+)/.exec(output)?.[1] ?? NaN)
  return { output, peakMiB: kib / 1024 }
}

/** Empties every host's /srv/bench through the farm's state directory (as root, no SSH). */
export function cleanHosts(hosts: string[]): void {
  for (const host of hosts) {
    const dir = hostFile(host, BENCH_DIR)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(join(dir, 'got'), { recursive: true })
    for (const path of [dir, join(dir, 'got')]) chownToDeploy(path)
    const tmp = hostFile(host, '/tmp/')
    for (const name of readdirSync(tmp)) if (/^Bench/.test(name)) rmSync(join(tmp, name), { force: true })
  }
}

/** Puts the payload on the seeder as murder's files_path and aria2c's seed, untimed. */
export function placeOnSeeder(seeder: string, localFile: string): void {
  const path = hostFile(seeder, `${BENCH_DIR}/payload.bin`)
  copyFileSync(localFile, path)
  chownToDeploy(path)
}

let owner: { uid: number; gid: number } | undefined
/** Gives a file to the farm's login user, who must own what the bench puts on hosts. */
function chownToDeploy(path: string): void {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'deploy'], { encoding: 'utf8' }).trim())
  owner ??= { uid: id('-u'), gid: id('-g') }
  chownSync(path, owner.uid, owner.gid)
}

/** Seconds from `startMs` until each host's copy last changed. */
function hostTimes(hosts: string[], path: (host: string) => string, startMs: number): number[] {
  return hosts.map((host) => ((changedAtMs(host, path(host)) ?? NaN) - startMs) / 1000)
}

async function timed(block: () => Promise<void>): Promise<{ startMs: number; seconds: number }> {
  const startMs = Date.now()
  const started = performance.now()
  await block()
  return { startMs, seconds: (performance.now() - started) / 1000 }
}

/** Murder's manual flow through our CLI: create_torrent, start_seeding, peer, stop_seeding. */
export const murderFlow: Method = {
  name: 'murder',
  label: 'ours: murder:* flow (file on the seeder)',
  isCentralized: false,
  async run({ hosts }) {
    const tag = `Bench${Date.now()}`
    const destination = `${BENCH_DIR}/got/payload.bin`
    let run = { output: '', peakMiB: NaN }
    await deployCli('murder:start_tracker', '-q') // set-up, as opentracker's start for aria2c
    const { startMs, seconds } = await timed(async () => {
      run = await measuredDeployCli(
        'murder:create_torrent', 'murder:start_seeding', 'murder:peer', 'murder:stop_seeding',
        `tag=${tag}`, `files_path=${BENCH_DIR}/payload.bin`, 'path_is_file=1', `destination_path=${destination}`,
        'unsafe_please_delete=1', 'peer_seed_seconds=0', 'do_not_download_torrent=1'
      )
    })
    await deployCli('murder:stop_tracker', '-q')
    rmSync(`/tmp/${tag}.tgz.torrent`, { force: true })
    const peerSeconds = stepSeconds(run.output, 'murder:peer')
    const steps: Record<string, number> = peerSeconds === undefined ? {} : { 'murder:peer': peerSeconds }
    const receivers = hosts.slice(1)
    return { seconds, hostSeconds: hostTimes(receivers, () => destination, startMs), remotePath: () => destination, steps, controllerPeakMiB: run.peakMiB }
  },
}

/** A task's duration as the CLI prints it (`✔ murder:peer 37.11s`, `850ms`, `1m17s`). */
function stepSeconds(output: string, task: string): number | undefined {
  const match = new RegExp(`${task} (?:(\\d+)m(\\d+)s|([\\d.]+)(m?s))\\b`).exec(output)
  if (!match) return undefined
  if (match[1] !== undefined) return Number(match[1]) * 60 + Number(match[2])
  return Number(match[3]) / (match[4] === 'ms' ? 1000 : 1)
}

/** `deploy`; `murder-plain` is deploy_via murder with swarm_encryption=false (the release as it is). */
function deployMethod(via: 'murder' | 'murder-plain' | 'copy'): Method {
  const deployTo = `${BENCH_DIR}/app`
  const releaseFile = (host: string) => {
    const releases = hostFile(host, `${deployTo}/releases`)
    const [release] = readdirSync(releases).filter((name) => /^\d{14}$/.test(name))
    return `${deployTo}/releases/${release ?? 'missing'}/payload.bin`
  }
  return {
    name: `deploy-${via}`,
    label: via === 'murder-plain' ? 'ours: deploy, deploy_via murder, swarm_encryption=false' : `ours: deploy, deploy_via ${via}`,
    isCentralized: via === 'copy',
    async run({ hosts, localTgz }) {
      // Set-up, untimed: a fleet holds the agent after its first deploy (shipping it to 48 hosts
      // through the controller's 25 Mbit link alone takes 8 s).
      if (via !== 'copy') await deployCli('murder:distribute_files', `deploy_to=${deployTo}`, '-q')
      const transport = via === 'murder-plain' ? ['deploy_via=murder', 'swarm_encryption=false'] : [`deploy_via=${via}`]
      let peakMiB = NaN
      const { startMs, seconds } = await timed(async () => {
        peakMiB = (await measuredDeployCli('deploy', `release_source=${localTgz}`, ...transport, `deploy_to=${deployTo}`, '-q')).peakMiB
      })
      return { seconds, hostSeconds: hostTimes(hosts, releaseFile, startMs), remotePath: releaseFile, controllerPeakMiB: peakMiB }
    },
  }
}
export const deployViaMurder = deployMethod('murder')
export const deployViaMurderPlain = deployMethod('murder-plain')
export const deployViaCopy = deployMethod('copy')

/** Debian's pssh, every host at once, no timeout (its defaults: 32 hosts, 60 s). */
export const parallelScp: Method = {
  name: 'parallel-scp',
  label: 'parallel-scp (pssh)',
  isCentralized: true,
  async run({ hosts, localFile }) {
    const destination = `${BENCH_DIR}/payload.bin`
    const { startMs, seconds } = await timed(async () => {
      await exec('parallel-scp', ['-p', String(hosts.length), '-t', '0', '-x', `-F ${SSH_CONFIG}`, '-H', hosts.join(' '), localFile, destination])
    })
    return { seconds, hostSeconds: hostTimes(hosts, () => destination, startMs), remotePath: () => destination }
  },
}

/** Capistrano 3's `upload!` to every server in parallel (SSHKit), from a Capfile made here. */
export const capistranoUpload: Method = {
  name: 'cap-upload',
  label: 'Capistrano 3 upload!',
  isCentralized: true,
  async run({ hosts, localFile }) {
    const destination = `${BENCH_DIR}/payload.bin`
    const capDir = writeCapProject('cap', hosts, ['task :bench_upload do', '  on roles(:all), in: :parallel do', `    upload! ENV.fetch('BENCH_FILE'), '${destination}'`, '  end', 'end'])
    const { startMs, seconds } = await timed(async () => {
      await exec('cap', ['farm', 'bench_upload'], { cwd: capDir, env: { ...process.env, BENCH_FILE: localFile } })
    })
    return { seconds, hostSeconds: hostTimes(hosts, () => destination, startMs), remotePath: () => destination }
  },
}

/**
 * A Capistrano 3 project in bench/results/NAME with the farm as stage `farm` and these lines of
 * deploy.rb after the SSH options; returns its directory.
 */
export function writeCapProject(name: string, hosts: string[], tasks: string[]): string {
  const capDir = join(REPO, 'bench/results', name)
  mkdirSync(join(capDir, 'config/deploy'), { recursive: true })
  // A stage needs capistrano/deploy loaded (its stage task invokes deploy:new_release_path).
  writeFileSync(join(capDir, 'Capfile'), "require 'capistrano/setup'\nrequire 'capistrano/deploy'\nrequire 'capistrano/scm/git'\ninstall_plugin Capistrano::SCM::Git\n")
  const sshOptions = `set :ssh_options, { keys: ['${KEY}'], auth_methods: ['publickey'], verify_host_key: :never }`
  writeFileSync(join(capDir, 'config/deploy.rb'), [sshOptions, ...tasks].join('\n') + '\n')
  writeFileSync(join(capDir, 'config/deploy/farm.rb'), hosts.map((host) => `server '${farmAddress(host)}', user: 'deploy', roles: %w[app]\n`).join(''))
  return capDir
}

/** test/farm/farm.sh with these arguments (up, down); throws with its stderr when it fails. */
export function farm(...args: string[]): void {
  const result = spawnSync('bash', [join(REPO, 'test/farm/farm.sh'), ...args], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`farm.sh ${args.join(' ')} failed:\n${result.stderr.slice(-2000)}`)
}

/** hNN is 10.213.1.N (test/farm/farm.sh). */
export function farmAddress(host: string): string {
  return `10.213.1.${Number(host.slice(1))}`
}

/**
 * aria2c + opentracker + mktorrent, as a team would script it: opentracker on the seeder (set-up,
 * like our tracker), then timed: mktorrent there, aria2c seeding there, aria2c on every other host
 * (daemonized, seeding on), until each has run its download-complete hook.
 */
export const aria2: Method = {
  name: 'aria2c',
  label: 'aria2c + opentracker + mktorrent',
  isCentralized: false,
  async run({ hosts, limitS }) {
    const [seeder = '', ...peers] = hosts
    const announce = `http://${farmAddress(seeder)}:6969/announce`
    mkdirSync(SHARED_TOOLS, { recursive: true })
    const hook = join(SHARED_TOOLS, 'aria2-done.sh')
    writeFileSync(hook, `#!/bin/sh\ntouch ${BENCH_DIR}/got/.done\n`)
    chmodSync(hook, 0o755)
    const common = [
      '--enable-dht=false', '--enable-dht6=false', '--disable-ipv6=true', '--enable-peer-exchange=false', '--bt-enable-lpd=false',
      '--file-allocation=none', '--summary-interval=0', '--console-log-level=error', '--seed-ratio=0.0', '--seed-time=10',
    ].join(' ')
    const torrent = `${BENCH_DIR}/payload.torrent`
    const destination = `${BENCH_DIR}/got/payload.bin`
    await startOpentracker(seeder)
    const { startMs, seconds } = await timed(async () => {
      await ssh(seeder, `mktorrent -l 20 -a ${announce} -o ${torrent} ${BENCH_DIR}/payload.bin >/dev/null`)
      // Whitelisted before anyone announces: aria2c waits a minute or more after a refused announce.
      await ssh(seeder, `aria2c -S ${torrent} | sed -n 's/^Info Hash: //p' >> /tmp/ot.whitelist && pkill -HUP -x opentracker && sleep 0.2`)
      await ssh(seeder, `aria2c -D ${common} --check-integrity=false --bt-seed-unverified=true -d ${BENCH_DIR} ${torrent}`)
      for (const peer of peers) {
        copyFileSync(hostFile(seeder, torrent), hostFile(peer, torrent))
        chownToDeploy(hostFile(peer, torrent))
      }
      await Promise.all(peers.map((peer) => ssh(peer, `aria2c -D ${common} --on-bt-download-complete=${hook} -d ${BENCH_DIR}/got ${torrent}`)))
      await waitFor(() => peers.every((peer) => changedAtMs(peer, `${BENCH_DIR}/got/.done`) !== undefined), limitS, 'aria2c peers to finish')
    })
    // From the controller, which sees every host's processes: an SSH login to a host whose link is
    // still full of seeding traffic can fail (ARP through a 400 ms queue).
    await exec('pkill', ['-x', 'aria2c']).catch(() => undefined)
    await exec('pkill', ['-x', 'opentracker']).catch(() => undefined)
    return { seconds, hostSeconds: hostTimes(peers, () => `${BENCH_DIR}/got/.done`, startMs), remotePath: () => destination }
  },
}

/** Debian's opentracker serves only whitelisted torrents (-w, re-read on SIGHUP), as ours does. */
async function startOpentracker(seeder: string): Promise<void> {
  await ssh(seeder, `pkill -x opentracker; cd /tmp && : > ot.whitelist && (setsid opentracker -i ${farmAddress(seeder)} -p 6969 -P 6969 -w ot.whitelist >/tmp/opentracker.log 2>&1 &) ; sleep 0.3; pgrep -x opentracker >/dev/null`)
}

async function waitFor(check: () => boolean, limitS: number, what: string): Promise<void> {
  const deadline = performance.now() + limitS * 1000
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what} after ${limitS} s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export const METHODS: Method[] = [murderFlow, deployViaMurder, deployViaMurderPlain, deployViaCopy, parallelScp, capistranoUpload, aria2]
