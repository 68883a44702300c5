import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import SSHConfig from 'ssh-config'
import type { Host } from './host.ts'

/** Where and how to reach one host, after ~/.ssh/config (or the stage's ssh_config) and per-server overrides. */
export interface SshTarget {
  name: string
  hostname: string
  port: number
  user: string
  identityFiles: string[]
  proxyJump: string | undefined
}

export class SshConfigFile {
  private readonly config: SSHConfig | undefined

  constructor(readonly path: string) {
    this.config = existsSync(path) ? SSHConfig.parse(readFileSync(path, 'utf8')) : undefined
  }

  /** `localUser` is the fallback login, like ssh's. */
  resolve(host: Pick<Host, 'name' | 'hostname' | 'user' | 'port'>, localUser: string): SshTarget {
    const computed = this.config?.compute(host.hostname) ?? {}
    const identityFiles = asList(computed['IdentityFile']).map((file) => expandHome(file, this.path))
    return {
      name: host.name,
      hostname: asString(computed['HostName']) ?? host.hostname,
      port: host.port ?? Number(asString(computed['Port']) ?? 22),
      user: host.user ?? asString(computed['User']) ?? localUser,
      identityFiles,
      proxyJump: asString(computed['ProxyJump']),
    }
  }
}

export function defaultSshConfigPath(): string {
  return join(homedir(), '.ssh', 'config')
}

function asString(value: unknown): string | undefined {
  if (Array.isArray(value)) return asString(value[0])
  return typeof value === 'string' && value !== '' ? value : undefined
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string')
  return typeof value === 'string' ? [value] : []
}

function expandHome(file: string, configPath: string): string {
  if (file.startsWith('~/')) return join(homedir(), file.slice(2))
  return resolve(join(configPath, '..'), file)
}
