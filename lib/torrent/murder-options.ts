import { readInteger } from '../config/read-integer.ts'
import { UsageError } from '../errors.ts'

/** Murder's arguments, read from variables (`key=value` words or `set`), validated before anything starts. */
export interface MurderOptions {
  tag: string
  tempPath: string
  /** `TEMP/TAG.tgz`: the payload (a tgz, or the file itself with path_is_file). */
  payloadPath: string
  torrentPath: string
  isPathFile: boolean
}

export type Fetch = <T>(name: string, fallback?: T) => T

/** A name joined into paths on every host (a tag, an application, a directory): no "/", no leading ".". */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const FLAG_TRUE = new Set(['1', 'true', 'yes'])

export function isFlagSet(fetch: Fetch, name: string): boolean {
  const value = fetch<unknown>(name, undefined)
  return value === true || value === 1 || (typeof value === 'string' && FLAG_TRUE.has(value.toLowerCase()))
}

/** The tag names files and directories on every host, so it is restricted to a safe alphabet. */
export function readTag(fetch: Fetch): string {
  const tag = String(fetch<unknown>('tag', undefined) ?? fetch<unknown>('default_tag', '') ?? '')
  if (tag === '') throw new UsageError('murder needs a tag: pass tag=NAME (for example tag=Deploy20100101) or set default_tag.')
  if (!SAFE_NAME.test(tag) || tag.includes('..')) {
    throw new UsageError(
      `Invalid tag "${printable(tag)}": use letters, digits, ".", "_" and "-" (no "/", "..", spaces or shell characters).`
    )
  }
  return tag
}

export function readAbsolutePath(fetch: Fetch, name: string, fallbackName: string, purpose: string): string {
  const value = String(fetch<unknown>(name, undefined) ?? fetch<unknown>(fallbackName, '') ?? '')
  if (value === '') throw new UsageError(`murder needs ${name}: pass ${name}=PATH (${purpose}) or set ${fallbackName}.`)
  return checkPath(name, value)
}

/** Paths are passed quoted, but a relative path or a `..` step would point somewhere unexpected. */
export function checkPath(name: string, value: string): string {
  if (!value.startsWith('/') && !value.startsWith('~/')) throw new UsageError(`${name} must be an absolute path, got "${printable(value)}".`)
  if (value.split('/').includes('..')) throw new UsageError(`${name} must not contain "..": "${printable(value)}".`)
  if (/[\n\r\0]/.test(value)) throw new UsageError(`${name} must not contain newlines: "${printable(value)}".`)
  // One slash between steps and none at the end, so that paths joined to it read as written.
  const collapsed = value.replace(/\/{2,}/g, '/')
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed
}

export function readMurderOptions(fetch: Fetch): MurderOptions {
  const tag = readTag(fetch)
  const tempPath = checkPath('temp_path', String(fetch<unknown>('temp_path', undefined) ?? fetch<unknown>('default_temp_path', '/tmp')))
  const payloadPath = `${tempPath}/${tag}.tgz`
  return { tag, tempPath, payloadPath, torrentPath: `${payloadPath}.torrent`, isPathFile: isFlagSet(fetch, 'path_is_file') }
}

/** The numbers the swarm's agents take, checked before any host is touched. */
export interface SwarmSettings {
  trackerPort: number
  /** How long a peer seeds on after its download. */
  seedSeconds: number
  /** A peer gives up after this long; 0: never. */
  timeoutS: number
  /** Every peer gives up once no host has received a byte for this long (its source is gone); 0: never. */
  stallTimeoutS: number
}

export function readSwarmSettings(fetch: Fetch): SwarmSettings {
  return {
    trackerPort: readInteger(fetch, 'tracker_port', 8998, { min: 1, max: 65535, unit: 'a TCP port' }),
    seedSeconds: readInteger(fetch, 'peer_seed_seconds', 30, { min: 0, unit: 'seconds' }),
    timeoutS: readInteger(fetch, 'peer_timeout', 0, { min: 0, unit: 'seconds, 0 for no limit' }),
    stallTimeoutS: readInteger(fetch, 'swarm_stall_timeout', 60, { min: 0, unit: 'seconds, 0 for no limit' }),
  }
}

/** Capistrano's parts of `deploy_to` that hold the app itself: never emptied, nor anything in releases/ or current/. */
const DEPLOY_LAYOUT = ['releases', 'shared', 'current', 'repo']

/**
 * Why emptying `target` with `rm -rf` would destroy more than files murder put there: `/`, a
 * top-level directory, a home directory itself (`~`, `/home/NAME`), a directory that holds
 * `deploy_to`, or `deploy_to`'s own layout (its releases, shared directory, `current`, `repo`).
 * Undefined: none of these. The SSH user's `$HOME` is checked on each host (`holdsHome`).
 */
export function whyUnsafeToEmpty(target: string, deployTo: string | undefined): string | undefined {
  // `~/x` counts `~` as a step, as `/srv/x` counts `srv`.
  const steps = target.split('/').filter((step) => step !== '' && step !== '.')
  if (steps.length < 2) return target.startsWith('~') ? 'it is a home directory' : 'it is / or a top-level directory'
  if (steps.length === 2 && steps[0] === 'home' && target.startsWith('/')) return 'it is a home directory'
  if (!deployTo?.startsWith('/')) return undefined
  const base = deployTo.replace(/\/+$/, '')
  const path = target.replace(/\/+$/, '')
  if (base === path || base.startsWith(`${path}/`)) return `it holds deploy_to (${printable(base)})`
  for (const part of DEPLOY_LAYOUT) {
    const layout = `${base}/${part}`
    if (path === layout || (part !== 'shared' && path.startsWith(`${layout}/`))) return `it is part of deploy_to's ${part} (${printable(layout)})`
  }
  return undefined
}

/** Whether emptying `target` on a host would empty the SSH user's home directory there. */
export function holdsHome(target: string, home: string): boolean {
  const path = target.replace(/\/+$/, '')
  const own = home.replace(/\/+$/, '')
  return own.startsWith('/') && (own === path || own.startsWith(`${path}/`))
}

/** unsafe_please_delete empties the target on every peer with `rm -rf`: refused where that is unsafe (above). */
export function checkDeleteTarget(target: string, deployTo: string | undefined): void {
  const why = whyUnsafeToEmpty(target, deployTo)
  if (why !== undefined) throw new UsageError(deleteRefusal(target, why))
}

export function deleteRefusal(target: string, why: string): string {
  return `refusing unsafe_please_delete on ${printable(target)}: ${why}; point destination_path (or tag) at the files' own directory.`
}

/** distribute_files empties remote_murder_path (but its run/) on every host: refused where that is unsafe (above). */
export function checkMurderPathToClear(murderPath: string, deployTo: string | undefined): void {
  const why = whyUnsafeToEmpty(murderPath, deployTo)
  if (why !== undefined) throw new UsageError(murderPathRefusal(murderPath, why))
}

export function murderPathRefusal(murderPath: string, why: string): string {
  return `refusing to clear remote_murder_path ${printable(murderPath)}: ${why}; give the agent a directory of its own (default DEPLOY_TO/shared/murder).`
}

function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1)
}
