import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml'
import { ConfigError, errorMessage } from '../errors.ts'
import { checkUserName, parseHost } from './host.ts'
import { checkRoleName, misspeltOption, type ServerOptions } from './inventory.ts'

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

export const STAGE_NAME = /^[A-Za-z0-9_-]+$/

export function isStage(projectRoot: string, word: string): boolean {
  return STAGE_NAME.test(word) && existsSync(stageFilePath(projectRoot, word))
}

/** The stages roles/ holds, sorted; undefined when there is no roles/ directory. */
export function listStages(projectRoot: string): string[] | undefined {
  let names: string[]
  try {
    names = readdirSync(join(projectRoot, 'roles'))
  } catch {
    return undefined
  }
  return names
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => name.slice(0, -'.yaml'.length))
    .filter((name) => STAGE_NAME.test(name))
    .sort()
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
      checkSshConfig(value.value, stage.sshConfig, where(value))
    } else if (key === 'variables') {
      if (!isMap(value)) throw new ConfigError('variables must be a mapping of name: value', where(value))
      stage.variables = value.toJSON() as Record<string, unknown>
    } else if (key === 'servers') {
      if (!isSeq(value)) throw new ConfigError('servers must be a list of { host, roles, … }', where(value))
      for (const item of value.items as Node[]) stage.servers.push(readServer(item, where))
    } else {
      if (!isMap(value)) throw new ConfigError('roles must map a role name to a list of hosts', where(value))
      for (const rolePair of value.items) {
        const name = String((rolePair.key as Node).toJSON())
        check(() => checkRoleName(name), where(rolePair.key as Node))
        const hostsNode = rolePair.value as Node | null
        const hostNodes = isSeq(hostsNode) ? (hostsNode.items as Node[]) : [hostsNode]
        const hosts = hostNodes.map((node) => {
          if (!isScalar(node) || typeof node.value !== 'string') throw new ConfigError(`role ${name} must list host names`, where(node ?? (rolePair.key as Node)))
          check(() => parseHost(node.value as string), where(node))
          return node.value
        })
        stage.roles.push({ name, hosts })
      }
    }
  }
  return stage
}

const YAML11_BOOLEANS: Record<string, boolean> = { yes: true, no: false, on: true, off: false, y: true, n: false }

function readServer(item: Node, where: (node: Node | null | undefined) => string): StageFile['servers'][number] {
  if (isScalar(item) && typeof item.value === 'string') {
    check(() => parseHost(item.value as string), where(item))
    return { host: item.value, options: {} }
  }
  if (!isMap(item)) throw new ConfigError('each server must be a host name or a mapping with "host"', where(item))
  const { host, ...options } = item.toJSON() as Record<string, unknown>
  const at = (key: string): string => where(item.get(key, true) as Node | undefined)
  if (typeof host !== 'string' || host === '') throw new ConfigError('a server needs "host: NAME"', where(item))
  check(() => parseHost(host), at('host'))
  for (const key of Object.keys(options)) {
    const typo = misspeltOption(host, key)
    if (typo !== undefined) throw new ConfigError(typo, at(key))
  }
  const { roles, user, port } = options
  const roleList = typeof roles === 'string' ? [roles] : roles
  if (roleList !== undefined && !(Array.isArray(roleList) && roleList.every((r) => typeof r === 'string'))) {
    throw new ConfigError(`roles of ${host} must be a list of role names`, at('roles'))
  }
  if (typeof roles === 'string' && roles.includes(',')) {
    throw new ConfigError(`roles of ${host} is the one string "${roles}"; write a list: roles: [${roles.split(',').map((r) => r.trim()).join(', ')}]`, at('roles'))
  }
  for (const role of roleList ?? []) check(() => checkRoleName(role), at('roles'))
  if (user !== undefined && (typeof user !== 'string' || user === '')) throw new ConfigError(`user of ${host} must be a user name`, at('user'))
  if (typeof user === 'string') check(() => checkUserName(user, host), at('user'))
  if (port !== undefined) {
    // `port: "2222"` reached ssh2 as a string before these checks, which took it: keep taking it.
    const number = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port
    if (!(Number.isInteger(number) && (number as number) >= 1 && (number as number) <= 65535)) {
      throw new ConfigError(`port of ${host} must be a number 1-65535, got ${JSON.stringify(port)}`, at('port'))
    }
    options['port'] = number
  }
  for (const flag of ['primary', 'no_release']) {
    const value = options[flag]
    if (value === undefined || typeof value === 'boolean') continue
    // YAML 1.1's yes/no/on/off, which the yaml package (1.2) reads as strings.
    const word = typeof value === 'string' ? YAML11_BOOLEANS[value.toLowerCase()] : undefined
    if (word === undefined) throw new ConfigError(`${flag} of ${host} must be true or false, got ${JSON.stringify(value)}`, at(flag))
    options[flag] = word
  }
  return { host, options: options as ServerOptions }
}

/** Turns a host or role name parser's plain Error into a ConfigError at the value's line. */
function check(parse: () => unknown, location: string): void {
  try {
    parse()
  } catch (error) {
    throw new ConfigError(errorMessage(error), location, error)
  }
}

// A missing file used to mean "no SSH config at all", silently; the stage asked for this one.
function checkSshConfig(written: string, path: string, location: string): void {
  if (!existsSync(path)) throw new ConfigError(`ssh_config ${written} does not exist (${path}); fix the path or remove ssh_config`, location)
  if (!statSync(path).isFile()) throw new ConfigError(`ssh_config ${written} is not a file (${path})`, location)
}
