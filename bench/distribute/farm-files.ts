// What the benchmark needs of the farm besides SSH: each host's private /srv and /var/www are bind
// mounts of directories under FARM_STATE (test/farm/farm.sh), so the controller can read when a
// host's copy changed (ctime: set by the kernel, kept by no copy tool) without an SSH round trip.
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'

const STATE = process.env['FARM_STATE'] ?? '/var/lib/murder-farm'
const PRIVATE_MOUNTS: [string, string][] = [
  ['/tmp/', 'tmp/'],
  ['/srv/', 'srv/'],
  ['/var/www/', 'www/'],
]

/** Where the controller sees `remotePath` of `host`. */
export function hostFile(host: string, remotePath: string): string {
  const mount = PRIVATE_MOUNTS.find(([prefix]) => remotePath.startsWith(prefix))
  if (!mount) throw new Error(`${remotePath} is not under a per-host mount (${PRIVATE_MOUNTS.map(([prefix]) => prefix).join(', ')})`)
  return join(STATE, host, mount[1], remotePath.slice(mount[0].length))
}

/** When the host's file last changed (ms since the epoch), or undefined when it is missing. */
export function changedAtMs(host: string, remotePath: string): number | undefined {
  const path = hostFile(host, remotePath)
  return existsSync(path) ? statSync(path).ctimeMs : undefined
}
