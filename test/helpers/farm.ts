import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
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

export function readOnHost(host: string, command: string): string {
  const result = onHost(host, command)
  if (result.code !== 0) throw new Error(`${host}: ${command} exited ${result.code}: ${result.stderr}`)
  return result.stdout
}
