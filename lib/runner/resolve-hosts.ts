// What `on()` accepts as its hosts: Host objects (from roles(), server(), primary()) or the names
// of declared servers, as SSHKit's `on %w{web1 web2}`.
import { describeValue, UsageError } from '../errors.ts'
import type { Host } from '../inventory/host.ts'
import type { Inventory } from '../inventory/inventory.ts'

/** `undefined` is no host, as SSHKit's `on nil`: what `primary()` gives for a role no live server has. */
export type HostList = Host | string | undefined | readonly (Host | string)[]

/** The hosts `hosts` names, in its order; anything else is a one-line UsageError saying what `on` takes. */
export function resolveHosts(inventory: Inventory, hosts: HostList): Host[] {
  if (hosts === undefined) return []
  const items: readonly unknown[] = Array.isArray(hosts) ? hosts : [hosts]
  return items.map((item) => {
    if (typeof item === 'string') {
      const host = inventory.find(item)
      if (host) return host
      const known = inventory.all().map((server) => server.name)
      const list = known.length > 0 ? `declared: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}` : 'none is declared (give a stage, or call server())'
      throw new UsageError(`on(): no server is named "${item}" (${list}); name a declared server or pass roles('ROLE').`)
    }
    if (isHost(item)) return item
    throw new UsageError(`on(): ${describeValue(item)} is not a host; pass roles('ROLE'), a host from server(), or a server's name.`)
  })
}

function isHost(value: unknown): value is Host {
  return typeof value === 'object' && value !== null && typeof (value as Host).name === 'string' && (value as Host).roles instanceof Set
}
