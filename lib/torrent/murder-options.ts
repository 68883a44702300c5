import { readInteger } from '../config/read-integer.ts'
import { readSwitch } from '../config/read-switch.ts'
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

/** Murder's own arguments: Capistrano 2 read them from the environment too, as `tag=D1 cap murder:peer`. */
const MURDER_ARGUMENTS: readonly string[] = ['tag', 'files_path', 'destination_path', 'temp_path', 'no_tag_directory', 'unsafe_please_delete', 'path_is_file', 'do_not_download_torrent']

/** `fetch`, where murder's arguments not given as variables (`key=value`, `set`) come from `env`. */
export function withEnvironmentArguments(fetch: Fetch, env: Readonly<Record<string, string | undefined>>): Fetch {
  return <T>(name: string, fallback?: T): T => {
    const fromEnvironment = MURDER_ARGUMENTS.includes(name) ? env[name] : undefined
    return fromEnvironment === undefined ? fetch(name, fallback) : fetch(name, fromEnvironment as T)
  }
}

/** A name joined into paths on every host (a tag, an application, a directory): no "/", no leading ".". */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** A flag such as `unsafe_please_delete=1`: on with 1/true/yes/on, off with 0/false/no/off, empty or unset; anything else is refused, not taken for off. */
export function isFlagSet(fetch: Fetch, name: string): boolean {
  const value = fetch<unknown>(name, undefined)
  return value === undefined || value === null || value === '' ? false : readSwitch(fetch, name, false)
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
  return checkPath(name, value, { allowsHome: true })
}

/**
 * Paths are passed quoted, but a relative path or a `..` step would point somewhere unexpected.
 * `~/` only where the task expands it on each host (`allowsHome`); elsewhere a quoted `~` would name
 * a directory called `~`.
 */
export function checkPath(name: string, value: string, { allowsHome = false } = {}): string {
  if (value.startsWith('~') && !allowsHome) {
    throw new UsageError(`${name} must be an absolute path: commands quote it, so "~" is not expanded; got "${printable(value)}", write /home/USER/… instead.`)
  }
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

/** `deploy_to` and the names of Capistrano's parts of it (`releases_directory`, … as set). */
export interface DeployLayout {
  deployTo: string
  releases: string
  shared: string
  current: string
}

/** What a murder task would empty with `rm -rf`: a peer's target, or the agent's directory. */
export type EmptiedPath = 'unsafe_please_delete' | 'remote_murder_path'

/**
 * Why emptying `target` with `rm -rf` would destroy more than files murder put there: `/`, a
 * top-level directory, a home directory itself (`~`, `/home/NAME`), a directory that holds
 * `deploy_to`, or `deploy_to`'s own parts (its releases and what is in them, its shared directory,
 * `current` and what is in it, `repo`). Undefined: none of these. `~/` paths compare as written;
 * each host also checks them with its `$HOME` expanded (`expandHome`), and that `$HOME` itself.
 */
export function whyUnsafeToEmpty(target: string, layout: DeployLayout | undefined, agentPath?: string): string | undefined {
  // `~/x` counts `~` as a step, as `/srv/x` counts `srv`.
  const steps = target.split('/').filter((step) => step !== '' && step !== '.')
  if (steps.length < 2) return target.startsWith('~') ? 'it is a home directory' : 'it is / or a top-level directory'
  if (steps.length === 2 && steps[0] === 'home' && target.startsWith('/')) return 'it is a home directory'
  // The agent and its daemons' pid files: emptied, the tracker and seeders would run on unstoppable.
  if (agentPath !== undefined && (isOrHolds(target, agentPath) || isOrHolds(agentPath, target))) {
    return `it is, holds or lies in remote_murder_path (${printable(trimSlashes(agentPath))}), the agent and its daemons' state`
  }
  if (layout !== undefined) {
    const base = trimSlashes(layout.deployTo)
    if (isOrHolds(target, base)) return `it holds deploy_to (${printable(base)})`
    const parts: [string, boolean][] = [[layout.releases, true], [layout.shared, false], [layout.current, true], ['repo', true]]
    for (const [part, isInsideToo] of parts) {
      const path = `${base}/${part}`
      if (isOrHolds(path, target) && (isInsideToo || trimSlashes(target) === path)) return `it is part of deploy_to's ${part} (${printable(path)})`
    }
  }
  const [first = '', second = ''] = steps
  // /usr/bin, /etc/ssh, /usr/local/bin; deeper is an application's choice (/usr/share/nginx/html).
  const isSystemDirectory = SYSTEM_DIRECTORIES.has(first) && (steps.length === 2 || (first === 'usr' && second === 'local' && steps.length === 3))
  if (target.startsWith('/') && isSystemDirectory) return `it is one of the system's own directories under /${first}`
  if (target.startsWith('/') && first === 'var' && steps.length === 2) return "it is one of /var's own directories (/var/www/APP is fine)"
  // ~/.ssh, ~/.config: the user's keys and settings.
  const inHome = target.startsWith('~') ? first === '~' && second : target.startsWith('/') && (first === 'root' ? second : first === 'home' ? steps[2] : undefined)
  if (typeof inHome === 'string' && inHome.startsWith('.')) return 'it is a dot-directory of a home (keys, settings)'
  return undefined
}

/** Directories of the system's own, whose contents no release replaces. */
const SYSTEM_DIRECTORIES = new Set(['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'run', 'sbin', 'sys', 'usr'])

/** Whether emptying `target` on a host would empty the SSH user's home directory there. */
export function holdsHome(target: string, home: string): boolean {
  return home.startsWith('/') && isOrHolds(target, home)
}

/** `~/x` with a host's `$HOME` (unchanged without one, or when not under `~/`). */
export function expandHome(path: string, home: string): string {
  return path.startsWith('~/') && home.startsWith('/') ? `${trimSlashes(home)}${path.slice(1)}` : path
}

/** Refuses, before any host is touched, to empty a path that `whyUnsafeToEmpty` finds unsafe. */
export function checkSafeToEmpty(what: EmptiedPath, target: string, layout: DeployLayout | undefined, agentPath?: string): void {
  const why = whyUnsafeToEmpty(target, layout, agentPath)
  if (why !== undefined) throw new UsageError(emptyingRefusal(what, target, why))
}

export function emptyingRefusal(what: EmptiedPath, target: string, why: string): string {
  return what === 'unsafe_please_delete'
    ? `refusing unsafe_please_delete on ${printable(target)}: ${why}; point destination_path (or tag) at the files' own directory.`
    : `refusing to clear remote_murder_path ${printable(target)}: ${why}; give the agent a directory of its own (default DEPLOY_TO/shared/murder).`
}

/** Whether `outer` is `inner` or one of the directories above it. */
function isOrHolds(outer: string, inner: string): boolean {
  const a = trimSlashes(outer)
  const b = trimSlashes(inner)
  return a === b || b.startsWith(`${a}/`)
}

function trimSlashes(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path
}

function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1)
}
