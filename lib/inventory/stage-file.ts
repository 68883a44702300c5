import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml'
import { ConfigError } from '../errors.ts'
import type { ServerOptions } from './inventory.ts'

/**
 * `roles/STAGE.yaml`: a stage's servers, roles and variables.
 *
 * ```yaml
 * ssh_config: .farm/ssh_config     # optional, relative to the project root
 * variables: { deploy_to: /srv/app }
 * servers:
 *   - host: deploy@web1:22
 *     roles: [web, app]
 *     primary: true                # any other key becomes a server property
 * roles:
 *   db: [db1]
 * ```
 */
export interface StageFile {
  path: string
  sshConfig: string | undefined
  variables: Record<string, unknown>
  servers: { host: string; options: ServerOptions }[]
  roles: { name: string; hosts: string[] }[]
}

const TOP_LEVEL_KEYS = new Set(['ssh_config', 'variables', 'servers', 'roles'])

export function stageFilePath(projectRoot: string, stage: string): string {
  return join(projectRoot, 'roles', `${stage}.yaml`)
}

export function isStage(projectRoot: string, word: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(word) && existsSync(stageFilePath(projectRoot, word))
}

export function readStageFile(path: string, projectRoot: string): StageFile {
  const shown = relative(process.cwd(), path) || path
  const lineCounter = new LineCounter()
  const document = parseDocument(readFileSync(path, 'utf8'), { lineCounter, prettyErrors: false })
  const where = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0]
    return offset === undefined ? shown : `${shown}:${lineCounter.linePos(offset).line}`
  }
  const firstError = document.errors[0]
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line
    throw new ConfigError(`invalid YAML: ${firstError.message.split('\n')[0]}`, `${shown}:${line}`)
  }
  const root = document.contents
  if (!isMap(root)) throw new ConfigError('a stage file must be a mapping with a "servers" list', where(root))

  const stage: StageFile = { path, sshConfig: undefined, variables: {}, servers: [], roles: [] }
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    const value = pair.value as Node | null
    if (!TOP_LEVEL_KEYS.has(key)) {
      throw new ConfigError(`unknown key "${key}"; use ${[...TOP_LEVEL_KEYS].join(', ')}`, where(pair.key as Node))
    }
    if (key === 'ssh_config') {
      if (!isScalar(value) || typeof value.value !== 'string') throw new ConfigError('ssh_config must be a path', where(value))
      stage.sshConfig = isAbsolute(value.value) ? value.value : join(projectRoot, value.value)
    } else if (key === 'variables') {
      if (!isMap(value)) throw new ConfigError('variables must be a mapping of name: value', where(value))
      stage.variables = value.toJSON() as Record<string, unknown>
    } else if (key === 'servers') {
      if (!isSeq(value)) throw new ConfigError('servers must be a list of { host, roles, … }', where(value))
      for (const item of value.items as Node[]) stage.servers.push(readServer(item, where))
    } else {
      if (!isMap(value)) throw new ConfigError('roles must map a role name to a list of hosts', where(value))
      for (const rolePair of value.items) {
        const hosts = (rolePair.value as Node | null)?.toJSON() as unknown
        const list = typeof hosts === 'string' ? [hosts] : hosts
        if (!Array.isArray(list) || !list.every((h) => typeof h === 'string')) {
          throw new ConfigError('a role must list host names', where(rolePair.value as Node))
        }
        stage.roles.push({ name: String((rolePair.key as Node).toJSON()), hosts: list })
      }
    }
  }
  return stage
}

function readServer(item: Node, where: (node: Node | null | undefined) => string): StageFile['servers'][number] {
  if (isScalar(item) && typeof item.value === 'string') return { host: item.value, options: {} }
  if (!isMap(item)) throw new ConfigError('each server must be a host name or a mapping with "host"', where(item))
  const { host, ...options } = item.toJSON() as Record<string, unknown>
  if (typeof host !== 'string' || host === '') throw new ConfigError('a server needs "host: NAME"', where(item))
  const roles = options['roles']
  if (roles !== undefined && typeof roles !== 'string' && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    throw new ConfigError(`roles of ${host} must be a list of role names`, where(item))
  }
  return { host, options: options as ServerOptions }
}

