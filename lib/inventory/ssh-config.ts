import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { homedir, hostname as machineName } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { ConfigError } from '../errors.ts'
import SSHConfig from 'ssh-config'
import type { Host } from './host.ts'
import { wildcardPattern, type HostKeyChecking } from '../ssh/known-hosts.ts'
import { expandFileOption, expandHostName, expandProxyJump, type TokenValues } from './ssh-tokens.ts'

/** Where and how to reach one host, after ~/.ssh/config (or the stage's ssh_config) and per-server overrides. */
export interface SshTarget {
  name: string
  hostname: string
  port: number
  user: string
  identityFiles: string[]
  proxyJump: string | undefined
  /** ProxyCommand, which murder does not run: a host with one is refused rather than reached directly. */
  proxyCommand: string | undefined
  /** StrictHostKeyChecking: unset (ssh's default `ask`, net-ssh's accept-new) is `accept-new`; an `ask` written there refuses a new host. */
  hostKeyChecking: HostKeyChecking
  /** HostKeyAlias: the name known_hosts holds the host's key under, instead of its hostname and port. */
  hostKeyAlias: string | undefined
  /** HashKnownHosts: a key added to known_hosts names its host hashed (`|1|salt|hash`). */
  hashKnownHosts: boolean
  /** UserKnownHostsFile (the first takes new keys), then GlobalKnownHostsFile. */
  userKnownHostsFiles: string[]
  globalKnownHostsFiles: string[]
}

const DEFAULT_USER_KNOWN_HOSTS = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']
const DEFAULT_GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']

export class SshConfigFile {
  private readonly config: SSHConfig | undefined

  constructor(readonly path: string) {
    this.config = existsSync(path) ? SSHConfig.parse(withIncludes(path, 0)) : undefined
  }

  /** `localUser` is the fallback login, like ssh's; `env` is for `${VAR}` in file options. */
  resolve(host: Pick<Host, 'name' | 'hostname' | 'user' | 'port'>, localUser: string, env: Readonly<Record<string, string | undefined>> = process.env): SshTarget {
    const computed = this.config?.compute(host.hostname) ?? {}
    // Keywords are case-insensitive, as in ssh; the first value given wins.
    const option = (keyword: string): unknown => Object.entries(computed).find(([key]) => key.toLowerCase() === keyword.toLowerCase())?.[1]
    // ProxyJump and ProxyCommand: as in ssh, whichever the file gives first is the one that counts.
    const keys = Object.keys(computed).map((key) => key.toLowerCase())
    const isJumpFirst = !keys.includes('proxycommand') || (keys.includes('proxyjump') && keys.indexOf('proxyjump') < keys.indexOf('proxycommand'))
    const proxyCommand = isJumpFirst ? undefined : noneIsUnset(asString(option('ProxyCommand')))
    const givenHostName = asString(option('HostName'))
    const hostname = givenHostName === undefined ? host.hostname : expandHostName(givenHostName, host.hostname, this.path)
    const port = host.port ?? Number(asString(option('Port')) ?? 22)
    const user = host.user ?? asString(option('User')) ?? localUser
    const givenJump = isJumpFirst ? noneIsUnset(asString(option('ProxyJump'))) : undefined
    const proxyJump = givenJump === undefined ? undefined : expandProxyJump(givenJump, { hostname, originalHost: host.hostname, port, user }, this.path)
    const hostKeyAlias = asString(option('HostKeyAlias'))
    const tokens: TokenValues = { hostname, originalHost: host.hostname, port, user, localHome: homedir(), localUser, localUid: process.getuid?.() ?? 0, localHostname: machineName(), hostKeyAlias, proxyJump }
    const files = (keyword: string, value: unknown) => asList(value).map((file) => expandFileOption(keyword, file, tokens, env, this.path))
    return {
      name: host.name,
      hostname,
      port,
      user,
      identityFiles: files('IdentityFile', option('IdentityFile')).map((file) => expandHome(file, this.path)),
      proxyJump,
      proxyCommand,
      hostKeyChecking: hostKeyChecking(asString(option('StrictHostKeyChecking'))),
      hostKeyAlias,
      hashKnownHosts: ['yes', 'true'].includes(asString(option('HashKnownHosts'))?.toLowerCase() ?? ''),
      userKnownHostsFiles: knownHostsFiles(files('UserKnownHostsFile', option('UserKnownHostsFile')), DEFAULT_USER_KNOWN_HOSTS, this.path),
      // ssh expands no tokens in GlobalKnownHostsFile.
      globalKnownHostsFiles: knownHostsFiles(asList(option('GlobalKnownHostsFile')), DEFAULT_GLOBAL_KNOWN_HOSTS, this.path),
    }
  }
}

/**
 * ssh's values: yes/true, no/off/false, accept-new, ask. Unset, ssh would ask and net-ssh (under
 * Capistrano) accepts a new host: murder too. Written, `ask` wants a person to check a new key,
 * which nothing can mid-run: such a host is refused, as under yes.
 */
function hostKeyChecking(value: string | undefined): HostKeyChecking {
  const setting = value?.toLowerCase()
  if (setting === 'yes' || setting === 'true') return 'yes'
  if (setting === 'no' || setting === 'off' || setting === 'false') return 'no'
  if (setting === 'ask') return 'ask'
  return 'accept-new'
}

/** A known-hosts option's files (ssh-config splits several on a line, quotes kept whole); `none` is none. */
function knownHostsFiles(given: readonly string[], fallback: readonly string[], configPath: string): string[] {
  const files = given.filter((item) => item !== '')
  if (files.length === 1 && files[0]?.toLowerCase() === 'none') return []
  return (files.length > 0 ? files : fallback).map((file) => expandHome(file, configPath))
}

/** ssh's bound on Includes within Includes. */
const MAX_INCLUDE_DEPTH = 16

/**
 * The file's text with each `Include` replaced by the files it names, as ssh reads them (the
 * ssh-config parser keeps the line and reads nothing): relative paths are in ~/.ssh, a `*` or `?`
 * in the last part of a path picks the files (not dotfiles) in sorted order, and a path that
 * matches nothing adds nothing. Only an Include before the file's first `Host` or `Match` is
 * taken: inside a block ssh includes conditionally, which pasted text cannot say.
 */
function withIncludes(path: string, depth: number): string {
  if (depth > MAX_INCLUDE_DEPTH) throw new ConfigError(`Include nested more than ${MAX_INCLUDE_DEPTH} deep`, path)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read it: ${(error as Error).message}`, path)
  }
  let isInBlock = false
  return text
    .split('\n')
    .map((line, index) => {
      if (/^\s*(host|match)[\s=]/i.test(line)) isInBlock = true
      const include = /^\s*include(?:\s*=\s*|\s+)(.*)$/i.exec(line)?.[1]
      if (include === undefined) return line
      const at = `${path}:${index + 1}`
      if (isInBlock) throw new ConfigError('an Include inside a Host or Match block is not supported; move it above the first Host line', at)
      return includeArguments(include).flatMap((pattern) => includedFiles(pattern, at)).map((file) => withIncludes(file, depth + 1)).join('\n')
    })
    .join('\n')
}

/** An Include line's paths: words, or quoted with spaces in them, up to a `#` comment. */
function includeArguments(text: string): string[] {
  const words: string[] = []
  for (const match of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const word = match[1] ?? match[2] ?? ''
    if (match[2]?.startsWith('#')) break
    words.push(word)
  }
  return words
}

function includedFiles(pattern: string, at: string): string[] {
  const path = pattern.startsWith('~/') ? join(homedir(), pattern.slice(2)) : isAbsolute(pattern) ? pattern : join(homedir(), '.ssh', pattern)
  const name = basename(path)
  if (/[*?[]/.test(dirname(path))) throw new ConfigError(`Include ${pattern}: a wildcard is supported in the last part of the path only`, at)
  const isRegularFile = (file: string) => {
    try {
      return statSync(file).isFile()
    } catch {
      return false
    }
  }
  if (!/[*?]/.test(name)) return isRegularFile(path) ? [path] : []
  const matcher = wildcardPattern(name)
  let names: string[]
  try {
    names = readdirSync(dirname(path))
  } catch {
    return []
  }
  return names.filter((file) => !file.startsWith('.') && matcher.test(file)).sort().map((file) => join(dirname(path), file)).filter(isRegularFile)
}

export function defaultSshConfigPath(): string {
  return join(homedir(), '.ssh', 'config')
}

/** `ProxyJump none`: no jump, as in ssh. */
function noneIsUnset(value: string | undefined): string | undefined {
  return value?.toLowerCase() === 'none' ? undefined : value
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
