/** A server as the deployfile or stage file declared it. */
export interface Host {
  /**
   * What output, filters and the run's records call it: the hostname as written, or `hostname:port`
   * when another server shares the hostname on another port (the inventory names it so).
   */
  name: string
  /** The hostname as written (without user and port): what ssh_config looks up and SSH connects to. */
  readonly hostname: string
  user: string | undefined
  port: number | undefined
  readonly roles: Set<string>
  /** Free-form properties (`primary`, `no_release`, `announce_ip`, …). */
  readonly properties: Record<string, unknown>
}

export interface HostAddress {
  name: string
  user?: string
  port?: number
}

const HOST_NAME = /^[A-Za-z0-9_.-]+$/
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/** A user given apart from the host (`user:` in a stage file, `server(h, { user })`), checked as in `user@host`. */
export function checkUserName(user: string, host: string): string {
  if (!USER_NAME.test(user)) throw new Error(`invalid user "${user}" of ${host}: use letters, digits, "_", "." and "-", starting with a letter or "_"`)
  return user
}

/** Parses `user@host:port`, `host`, `[v6]:port`; throws a one-line Error naming the bad part. */
export function parseHost(text: string): HostAddress {
  const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d+))?$/.exec(text.trim())
  if (!match) throw new Error(`invalid host "${text}": write it as host, user@host or user@host:port`)
  const [, user, rawName = '', rawPort] = match
  const name = rawName.startsWith('[') ? rawName.slice(1, -1) : rawName
  if (!rawName.startsWith('[') && !HOST_NAME.test(name)) {
    throw new Error(`invalid host name "${name}": use letters, digits, dots, dashes and underscores`)
  }
  if (rawName.startsWith('[') && !/^[0-9A-Fa-f:.]+$/.test(name)) throw new Error(`invalid IPv6 address "${name}"`)
  if (user !== undefined && !USER_NAME.test(user)) throw new Error(`invalid user "${user}" in host "${text}"`)
  const address: HostAddress = { name }
  if (user !== undefined) address.user = user
  if (rawPort !== undefined) {
    const port = Number(rawPort)
    if (port < 1 || port > 65535) throw new Error(`invalid port ${rawPort} in host "${text}": use 1-65535`)
    address.port = port
  }
  return address
}

export function isNoRelease(host: Host): boolean {
  return host.properties['no_release'] === true
}

export function isPrimary(host: Host): boolean {
  return host.properties['primary'] === true
}
