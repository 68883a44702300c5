import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './cli.ts'

const SSH_CONFIG = join(REPO_ROOT, '.farm/ssh_config')
const STAGE = join(REPO_ROOT, 'roles/farm.yaml')

/** Host names of the farm that is up, in order (h01, h02, …), read from roles/farm.yaml. */
export function farmHosts(): string[] {
  if (!existsSync(STAGE)) return []
  return [...readFileSync(STAGE, 'utf8').matchAll(/^\s*- host: (\S+)/gm)].map((match) => match[1] ?? '')
}

/** Brings up a farm of at least `count` hosts unless one is already up (npm test brings it up once). */
export function ensureFarm(count: number): string[] {
  const hosts = farmHosts()
  if (hosts.length >= count && hosts[0] !== undefined && sshOk(hosts[0])) return hosts
  execFileSync('bash', [join(REPO_ROOT, 'test/farm/farm.sh'), 'up', String(count)], { stdio: 'inherit' })
  return farmHosts()
}

function sshOk(host: string): boolean {
  return spawnSync('ssh', ['-F', SSH_CONFIG, '-o', 'ConnectTimeout=3', host, 'true']).status === 0
}

/** Runs a shell command on a farm host over plain OpenSSH (independent of the code under test). */
export function onHost(host: string, command: string): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync('ssh', ['-F', SSH_CONFIG, host, command], { encoding: 'utf8', timeout: 60_000 })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/**
 * Runs a read-only shell command inside a farm host's namespaces from this machine, as root,
 * without SSH: for watching a transfer on shaped links, where each SSH session would wait behind the
 * host's full upload queue (seconds at 10 Mbit/s) and add its own traffic to the swarm being watched.
 */
export function peekOnHost(host: string, command: string): { code: number | null; stdout: string } {
  const result = spawnSync('nsenter', ['--target', String(hostInitPid(host)), '--mount', '--pid', '--net', '--uts', 'sh', '-c', command], { encoding: 'utf8', timeout: 10_000 })
  // nsenter's own failure exits 1 like a grep that finds nothing: it must not read as "not yet".
  if (result.error || result.stderr.startsWith('nsenter:')) throw new Error(`${host}: cannot enter the host to run ${command}: ${result.error?.message ?? result.stderr.trim()}`)
  return { code: result.status, stdout: result.stdout }
}

const initPids = new Map<string, number>()

/** The host's sshd, PID 1 of its PID namespace (test/farm/farm.sh boots each host so). */
function hostInitPid(host: string): number {
  const cached = initPids.get(host)
  if (cached !== undefined && isInNamespace(cached, host)) return cached
  const pids = execFileSync('ip', ['netns', 'pids', `murder-${host}`], { encoding: 'utf8' }).split('\n').filter(Boolean)
  const init = pids.find((pid) => /^NSpid:\s+\d+\s+1$/m.test(readStatus(pid)))
  if (init === undefined) throw new Error(`farm host ${host} has no process running as PID 1 of its namespace; is the farm up?`)
  initPids.set(host, Number(init))
  return Number(init)
}

/** True while `pid` lives in the host's network namespace (not gone, nor reused by another process). */
function isInNamespace(pid: number, host: string): boolean {
  try {
    const own = statSync(`/proc/${pid}/ns/net`)
    const hosts = statSync(`/run/netns/murder-${host}`)
    return own.ino === hosts.ino && own.dev === hosts.dev
  } catch {
    return false
  }
}

/** A process's /proc status, or '' once it has gone. */
function readStatus(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return ''
  }
}

export function readOnHost(host: string, command: string): string {
  const result = onHost(host, command)
  if (result.code !== 0) throw new Error(`${host}: ${command} exited ${result.code}: ${result.stderr}`)
  return result.stdout
}
