import { distance } from 'fastest-levenshtein'
import { checkUserName, parseHost, isNoRelease, isPrimary, type Host } from './host.ts'

export interface ServerOptions {
  roles?: readonly string[] | string
  user?: string
  port?: number
  primary?: boolean
  no_release?: boolean
  [property: string]: unknown
}

const ROLE_NAME = /^[a-z][a-z0-9_-]*$/

/** The server options murder reads; any other key is a free-form property of the host. */
const KNOWN_OPTIONS = ['roles', 'user', 'port', 'primary', 'no_release', 'announce_ip']

/**
 * Why a server key looks like a typo of an option (`role` for `roles`, `no-release`, `primery`),
 * which would otherwise be taken silently as a property of its own, leaving the server without
 * roles; undefined for an option or a property. Plurals (`ports`, `users`) and short words one
 * letter from an option (`post`, `rules`) stay properties.
 */
export function misspeltOption(host: string, key: string): string | undefined {
  if (KNOWN_OPTIONS.includes(key)) return undefined
  const squashed = (text: string) => text.toLowerCase().replace(/[^a-z]/g, '')
  const meant = KNOWN_OPTIONS.find(
    (known) => squashed(known) === squashed(key) || key === known.replace(/s$/, '') || (key.length >= 6 && key !== `${known}s` && distance(known, key) === 1)
  )
  return meant === undefined ? undefined : `server ${host}: "${key}" is not an option; did you mean "${meant}"?`
}

export class Inventory {
  private readonly hosts: Host[] = []
  /** Roles declared by name, with or without servers (`roles: {worker: []}`). */
  private readonly declaredRoles = new Set<string>()

  server(text: string, options: ServerOptions = {}): Host {
    const address = parseHost(text)
    for (const key of Object.keys(options)) {
      const typo = misspeltOption(text, key)
      if (typo !== undefined) throw new Error(typo)
    }
    const { roles = [], user, port: portOption, ...properties } = options
    if (user !== undefined) checkUserName(String(user), address.name)
    const port = portOption ?? address.port
    let host = this.serverOf(address.name, port)
    if (!host) {
      host = { name: address.name, hostname: address.name, user: undefined, port: undefined, roles: new Set(), properties: {} }
      this.hosts.push(host)
    }
    host.user = user ?? address.user ?? host.user
    host.port = port ?? host.port
    for (const role of typeof roles === 'string' ? [roles] : roles) host.roles.add(checkRoleName(role))
    Object.assign(host.properties, properties)
    this.nameSharedHostnames(address.name)
    return host
  }

  /**
   * The server a declaration adds to: the same hostname and port, as Capistrano matches them. One
   * without a port is on the default port: `h01` and `h01:2222` are two sshd's, in either order.
   */
  private serverOf(hostname: string, port: number | undefined): Host | undefined {
    return this.hosts.find((host) => host.hostname === hostname && host.port === port)
  }

  /** Servers sharing a hostname are told apart by their port in every name, filter and report. */
  private nameSharedHostnames(hostname: string): void {
    const sharing = this.hosts.filter((host) => host.hostname === hostname)
    for (const host of sharing) {
      const shown = hostname.includes(':') ? `[${hostname}]` : hostname
      host.name = sharing.length > 1 && host.port !== undefined ? `${shown}:${host.port}` : hostname
    }
  }

  role(name: string, hosts: readonly string[] | string, properties: ServerOptions = {}): void {
    this.declaredRoles.add(checkRoleName(name))
    for (const text of typeof hosts === 'string' ? [hosts] : hosts) {
      this.server(text, { ...properties, roles: [name] })
    }
  }

  all(): Host[] {
    return [...this.hosts]
  }

  find(name: string): Host | undefined {
    return this.hosts.find((host) => host.name === name)
  }

  /** Every role a server has or the stage declares (one declared with no servers too). */
  roleNames(): Set<string> {
    return new Set([...this.declaredRoles, ...this.all().flatMap((host) => [...host.roles])])
  }

  /** Of these role names, those no server has (`all` is every server's). */
  unknownRoles(names: readonly string[]): string[] {
    const known = this.roleNames()
    return names.filter((name) => name !== 'all' && !known.has(name))
  }

  /** Every role some server has, sorted, for messages: `app, db, web` (empty: none). */
  roleList(): string {
    return [...this.roleNames()].sort().join(', ')
  }

  /** Hosts holding any of the roles; `all` means every host (Capistrano's `roles(:all)`). */
  withRoles(roles: readonly string[]): Host[] {
    if (roles.includes('all')) return this.all()
    return this.all().filter((host) => roles.some((role) => host.roles.has(role)))
  }

  /** Hosts that receive releases: every host not marked `no_release`. */
  releaseHosts(): Host[] {
    return this.all().filter((host) => !isNoRelease(host))
  }

  /** The role's `primary: true` host, else its first, leaving out `isGone` hosts (those that failed in the run). */
  primary(role: string, isGone: (host: Host) => boolean = () => false): Host | undefined {
    const hosts = this.withRoles([role]).filter((host) => !isGone(host))
    return hosts.find(isPrimary) ?? hosts[0]
  }
}

export function checkRoleName(role: string): string {
  if (!ROLE_NAME.test(role)) {
    throw new Error(`invalid role name "${role}": use lowercase letters, digits, "_" and "-", starting with a letter`)
  }
  return role
}
