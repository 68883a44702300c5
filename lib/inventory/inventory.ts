import { parseHost, isNoRelease, isPrimary, type Host } from './host.ts'

export interface ServerOptions {
  roles?: readonly string[] | string
  user?: string
  port?: number
  primary?: boolean
  no_release?: boolean
  [property: string]: unknown
}

const ROLE_NAME = /^[a-z][a-z0-9_-]*$/

/** Servers and roles, in declaration order; declaring a host twice merges roles and properties (Capistrano). */
export class Inventory {
  private readonly byName = new Map<string, Host>()

  server(text: string, options: ServerOptions = {}): Host {
    const address = parseHost(text)
    const { roles = [], user, port, ...properties } = options
    let host = this.byName.get(address.name)
    if (!host) {
      host = { name: address.name, user: undefined, port: undefined, roles: new Set(), properties: {} }
      this.byName.set(address.name, host)
    }
    host.user = user ?? address.user ?? host.user
    host.port = port ?? address.port ?? host.port
    for (const role of typeof roles === 'string' ? [roles] : roles) host.roles.add(checkRoleName(role))
    Object.assign(host.properties, properties)
    return host
  }

  role(name: string, hosts: readonly string[] | string, properties: ServerOptions = {}): void {
    for (const text of typeof hosts === 'string' ? [hosts] : hosts) {
      this.server(text, { ...properties, roles: [name] })
    }
  }

  all(): Host[] {
    return [...this.byName.values()]
  }

  find(name: string): Host | undefined {
    return this.byName.get(name)
  }

  roleNames(): Set<string> {
    return new Set(this.all().flatMap((host) => [...host.roles]))
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

  primary(role: string): Host | undefined {
    const hosts = this.withRoles([role])
    return hosts.find(isPrimary) ?? hosts[0]
  }
}

export function checkRoleName(role: string): string {
  if (!ROLE_NAME.test(role)) {
    throw new Error(`invalid role name "${role}": use lowercase letters, digits, "_" and "-", starting with a letter`)
  }
  return role
}
