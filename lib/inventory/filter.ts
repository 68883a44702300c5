import { UsageError } from '../errors.ts'
import type { Host } from './host.ts'

/** ROLES= and HOSTS= narrowing (Capistrano's filters): names (a host's name or hostname) match exactly, `/re/` matches as a regex. */
export interface HostFilter {
  roles: string[]
  hosts: string[]
}

export function parseFilterList(text: string | undefined): string[] {
  if (text === undefined) return []
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

function toMatcher(pattern: string): (value: string) => boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    let regex: RegExp
    try {
      regex = new RegExp(pattern.slice(1, -1))
    } catch (error) {
      throw new UsageError(`Invalid filter regex ${pattern}: ${(error as Error).message}`)
    }
    return (value) => regex.test(value)
  }
  return (value) => value === pattern
}

/** Checks that every filter names something that exists, so a typo never silently selects nothing. */
export function validateFilter(filter: HostFilter, allHosts: readonly Host[], roleNames: ReadonlySet<string>): void {
  for (const role of filter.roles) {
    const matches = toMatcher(role)
    if (![...roleNames].some(matches) && role !== 'all') {
      throw new UsageError(
        `Unknown role "${role}" in ROLES filter. Known roles: ${[...roleNames].sort().join(', ') || '(none)'}.`
      )
    }
  }
  for (const host of filter.hosts) {
    const matches = toMatcher(host)
    if (!allHosts.some((candidate) => matches(candidate.name) || matches(candidate.hostname))) {
      throw new UsageError(
        `Unknown host "${host}" in HOSTS filter. Known hosts: ${allHosts.map((h) => h.name).join(', ') || '(none)'}.`
      )
    }
  }
  // A role the stage declares with no servers is known, and selects nothing: every task would do nothing.
  if (filter.roles.length > 0 && applyFilter(allHosts, { roles: filter.roles, hosts: [] }).length === 0) {
    throw new UsageError(`ROLES=${filter.roles.join(',')} matches no server: no server has ${filter.roles.length > 1 ? 'these roles' : 'that role'} (declared without hosts); give it servers in the stage file or pick another role.`)
  }
  // Each matches some server (above); together they may match none, and every task would do nothing.
  if (filter.roles.length > 0 && filter.hosts.length > 0 && applyFilter(allHosts, filter).length === 0) {
    throw new UsageError(`ROLES=${filter.roles.join(',')} and HOSTS=${filter.hosts.join(',')} together match no server; loosen one of them.`)
  }
}

export function applyFilter(hosts: readonly Host[], filter: HostFilter): Host[] {
  const leavesOut = filterChecks(filter)
  return hosts.filter((host) => !leavesOut.byRole(host) && !leavesOut.byHost(host))
}

/** Each host the filters leave out, with the filters that do, as written (`ROLES=web`, `HOSTS=web1`). */
export function whyLeftOut(hosts: readonly Host[], filter: HostFilter): { host: Host; by: string[] }[] {
  const leavesOut = filterChecks(filter)
  const roles = `ROLES=${filter.roles.join(',')}`
  const names = `HOSTS=${filter.hosts.join(',')}`
  return hosts.flatMap((host) => {
    const by = [...(leavesOut.byRole(host) ? [roles] : []), ...(leavesOut.byHost(host) ? [names] : [])]
    return by.length === 0 ? [] : [{ host, by }]
  })
}

function filterChecks(filter: HostFilter): { byRole: (host: Host) => boolean; byHost: (host: Host) => boolean } {
  const roleMatchers = filter.roles.map(toMatcher)
  const hostMatchers = filter.hosts.map(toMatcher)
  return {
    byRole: (host) => roleMatchers.length > 0 && !filter.roles.includes('all') && ![...host.roles].some((role) => roleMatchers.some((m) => m(role))),
    // A hostname selects every server on it (`web1` selects `web1:2201` and `web1:2202`).
    byHost: (host) => hostMatchers.length > 0 && !hostMatchers.some((m) => m(host.name) || m(host.hostname)),
  }
}
