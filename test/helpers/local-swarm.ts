// A whole murder swarm on this machine: the bundled agent run as real processes, each host on its
// own loopback address (127.0.0.2 tracker, .3 seeder, .4… peers), with a random payload. Used by
// test/e2e/agent-swarm.test.ts and bench/agent-swarm.ts.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { buildAgent } from '../../lib/torrent/build-agent.ts'
import { parseEvent, type AgentEvent, type SwarmStats } from '../../lib/torrent/protocol.ts'

export const TRACKER_IP = '127.0.0.2'
export const SEEDER_IP = '127.0.0.3'
export const TAG = 'Swarm1'

export interface AgentRun {
  code: number | null
  stdout: string
  stderr: string
  events: AgentEvent[]
}

/** Runs one agent command to its end. */
export function runAgent(agent: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [agent, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    child.on('error', reject)
    child.on('close', (code) => {
      const events = stdout.split('\n').flatMap((line) => parseEvent(line) ?? [])
      resolve({ code, stdout, stderr, events })
    })
  })
}

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export function writeRandomFile(path: string, sizeBytes: number): void {
  const fd = openSync(path, 'w')
  for (let written = 0; written < sizeBytes; ) {
    const chunk = randomBytes(Math.min(4 << 20, sizeBytes - written))
    writeSync(fd, chunk)
    written += chunk.length
  }
  closeSync(fd)
}

export interface SwarmSetup {
  directory: string
  agent: string
  trackerState: string
  seedState: string
  torrent: string
  payload: string
  announce: string
  env: NodeJS.ProcessEnv
}

export interface SwarmOptions {
  /** Random bytes this long are the payload, unless `payloadFile` is given. */
  sizeBytes: number
  /** This file is the payload (a release tgz, say), instead of random bytes. */
  payloadFile?: string
  /** Emulated link of every host, bytes/s each way (MURDER_AGENT_LINK_BPS). */
  linkBps?: number
  /** Whitelist the torrent on the tracker (default true). */
  shouldAllow?: boolean
  /** Start the seeder (default true). */
  shouldSeed?: boolean
}

/** Tracker up, payload made, torrent whitelisted and seeded. */
export async function startSwarm(options: SwarmOptions): Promise<SwarmSetup> {
  const directory = mkdtempSync('/tmp/murder-swarm-')
  // Run from a directory without node_modules anywhere above it, like on a host.
  const agent = join(directory, 'murder-agent.cjs')
  copyFileSync(await buildAgent(), agent)
  const env = options.linkBps ? { MURDER_AGENT_LINK_BPS: String(options.linkBps) } : {}
  const setup: SwarmSetup = {
    directory,
    agent,
    trackerState: join(directory, 'tracker/run'),
    seedState: join(directory, 'seeder/run'),
    torrent: join(directory, `seeder/${TAG}.tgz.torrent`),
    payload: join(directory, `seeder/${TAG}.tgz`),
    announce: '',
    env,
  }
  mkdirSync(join(directory, 'files'), { recursive: true })
  if (options.payloadFile) copyFileSync(options.payloadFile, join(directory, 'files/payload.bin'))
  else writeRandomFile(join(directory, 'files/payload.bin'), options.sizeBytes)
  const port = await freePort(TRACKER_IP)
  setup.announce = `http://${TRACKER_IP}:${port}/announce`
  await expectOk(runAgent(agent, ['tracker', '--state', setup.trackerState, '--host', TRACKER_IP, '--port', String(port)]), 'tracker')
  const made = await expectOk(
    runAgent(agent, ['make-torrent', '--source', join(directory, 'files/payload.bin'), '--path-is-file', '--tgz', setup.payload, '--torrent', setup.torrent, '--announce', setup.announce]),
    'make-torrent'
  )
  const torrent = made.events.find((event) => event.type === 'torrent')
  if (torrent?.type !== 'torrent') throw new Error(`make-torrent printed no torrent event: ${made.stdout}`)
  if (options.shouldAllow !== false) await expectOk(runAgent(agent, ['allow', '--state', setup.trackerState, '--info-hash', torrent.infoHash]), 'allow')
  if (options.shouldSeed === false) return setup
  await expectOk(
    runAgent(agent, ['seed', '--state', setup.seedState, '--tag', TAG, '--torrent', setup.torrent, '--payload', setup.payload, '--announce-ip', SEEDER_IP], env),
    'seed'
  )
  return setup
}

export interface PeerResult extends AgentRun {
  ip: string
  payload: string
  state: string
  elapsedMs: number
}

/** Where peer number `index` (from 0) lives: 127.0.0.4, .5, …, with its own temp and run directory. */
export function peerHome(setup: SwarmSetup, index: number): { ip: string; torrent: string; payload: string; state: string; args: (seedSeconds: number) => string[] } {
  const ip = `127.0.0.${4 + index}`
  const home = join(setup.directory, `peer${index + 1}`)
  mkdirSync(home, { recursive: true })
  const torrent = join(home, `${TAG}.tgz.torrent`)
  copyFileSync(setup.torrent, torrent)
  const payload = join(home, `${TAG}.tgz`)
  const state = join(home, 'run')
  const args = (seedSeconds: number) => ['peer', '--state', state, '--tag', TAG, '--torrent', torrent, '--payload', payload, '--announce-ip', ip, '--seeder-ip', SEEDER_IP, '--seed-seconds', String(seedSeconds)]
  return { ip, torrent, payload, state, args }
}

/** Peers started together; resolves when every `peer` command has returned. */
export async function runPeers(setup: SwarmSetup, count: number, seedSeconds: number): Promise<PeerResult[]> {
  const startedAt = Date.now()
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const home = peerHome(setup, index)
      const run = await runAgent(setup.agent, home.args(seedSeconds), setup.env)
      return { ...run, ip: home.ip, payload: home.payload, state: home.state, elapsedMs: Date.now() - startedAt }
    })
  )
}

export function readStats(path: string): SwarmStats {
  return JSON.parse(readFileSync(path, 'utf8')) as SwarmStats
}

/** Agent processes whose command line mentions this swarm's directory. */
export function agentProcesses(setup: SwarmSetup): string[] {
  const ps = spawnSync('pgrep', ['-af', setup.directory], { encoding: 'utf8' })
  return ps.stdout
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.includes('pgrep'))
}

export async function stopSwarm(setup: SwarmSetup, peerStates: readonly string[], shouldRemove = true): Promise<void> {
  await runAgent(setup.agent, ['stop', '--state', setup.seedState, '--kind', 'seed', '--all'])
  await runAgent(setup.agent, ['stop', '--state', setup.trackerState, '--kind', 'tracker'])
  for (const state of peerStates) await runAgent(setup.agent, ['stop', '--state', state, '--kind', 'peer', '--all'])
  if (shouldRemove) rmSync(setup.directory, { recursive: true, force: true })
}

async function expectOk(pending: Promise<AgentRun>, what: string): Promise<AgentRun> {
  const run = await pending
  if (run.code !== 0) throw new Error(`agent ${what} exited ${run.code}: ${run.stderr.trim()}`)
  return run
}
